/**
 * HTTP health probe for Azure: GET /api/health with the function key (see handlers/health.ts). Never
 * anonymous: the report names the RA certificate, the CA hosts and expiry dates; without a key the host
 * answers 401 before the handler runs.
 */
import { app } from '@azure/functions';
import { health } from './handlers/health';

app.http('health', { methods: ['GET'], authLevel: 'function', route: 'health', handler: health });

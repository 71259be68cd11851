/** HTTP health probe for Azure: GET /api/health with the function key (see handlers/health.ts). */
import { app } from '@azure/functions';
import { health } from './handlers/health';

app.http('health', { methods: ['GET'], authLevel: 'function', route: 'health', handler: health });

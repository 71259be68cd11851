/**
 * The App Service managed-identity endpoint (`GET /msi/token`, plain HTTP on loopback as on App Service):
 * checks X-IDENTITY-HEADER, the api-version, the resource and a user-assigned identity, then hands out a
 * token, answering as App Service does (docs/toolchain-notes.md §4).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordedTokenRequest } from './api';
import { sendJson } from './jsonAnswer';
import { TOKEN_RESOURCES, type TokenIssuer } from './tokens';

const APP_SERVICE_MSI_API_VERSION = '2019-08-01';
export const IDENTITY_PATH = '/msi/token';

export interface IdentityEndpointSettings {
  tokens: TokenIssuer;
  /** The secret expected in X-IDENTITY-HEADER. */
  identityHeader: string;
  /** Client ids of the user-assigned identities assigned to the app. */
  userAssignedClientIds: string[];
  /** Where each token request is recorded. */
  tokenRequests: RecordedTokenRequest[];
}

function sameSecret(expected: string, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function identityEndpoint(
  settings: IdentityEndpointSettings,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const query = new URLSearchParams(url.search);
    const headerValue = request.headers['x-identity-header'];
    const userAssignedId = query.get('client_id') ?? query.get('mi_res_id') ?? query.get('object_id');
    const recorded: RecordedTokenRequest = {
      resource: query.get('resource'),
      apiVersion: query.get('api-version'),
      ...(userAssignedId === null ? {} : { userAssignedId }),
      identityHeaderValid: sameSecret(
        settings.identityHeader,
        Array.isArray(headerValue) ? headerValue[0] : headerValue,
      ),
      status: 0,
    };
    settings.tokenRequests.push(recorded);
    const reply = (status: number, body: unknown) => {
      recorded.status = status;
      sendJson(response, status, body);
    };
    if (request.method !== 'GET' || url.pathname !== IDENTITY_PATH) {
      reply(404, { statusCode: 404, message: `No such endpoint: ${request.method} ${url.pathname}` });
      return;
    }
    if (!recorded.identityHeaderValid) {
      reply(401, { statusCode: 401, message: 'The X-IDENTITY-HEADER header is missing or wrong.' });
      return;
    }
    if (recorded.apiVersion !== APP_SERVICE_MSI_API_VERSION) {
      reply(400, {
        statusCode: 400,
        message: `api-version must be ${APP_SERVICE_MSI_API_VERSION}, got ${recorded.apiVersion}.`,
      });
      return;
    }
    const resource = recorded.resource?.replace(/\/$/, '') ?? '';
    if (!TOKEN_RESOURCES.includes(resource)) {
      reply(400, {
        statusCode: 400,
        message: `The stand-in issues tokens for ${TOKEN_RESOURCES.join(', ')} only, not ${recorded.resource}.`,
      });
      return;
    }
    if (userAssignedId !== null && !settings.userAssignedClientIds.includes(userAssignedId)) {
      reply(400, {
        statusCode: 400,
        message: 'Unable to load the proper Managed Identity.',
        correlationId: randomUUID(),
      });
      return;
    }
    const { token, expiresOnSeconds } = settings.tokens.issue(resource);
    reply(200, {
      access_token: token,
      // App Service sends Unix seconds as a string; MSAL subtracts "now" from it.
      expires_on: String(expiresOnSeconds),
      resource,
      token_type: 'Bearer',
      client_id: settings.tokens.clientId,
    });
  };
}

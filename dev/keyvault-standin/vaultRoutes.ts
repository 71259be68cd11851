/**
 * The vault's HTTPS routes: `GET /certificates/<name>[/<version>]` and `GET /secrets/<name>[/<version>]`
 * behind the 401 bearer challenge the SDKs answer, with Key Vault's error bodies (403 forbidden or
 * disabled, 404 not found). Every request is recorded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordedVaultRequest, VaultObjectKind } from './api';
import { sendJson } from './jsonAnswer';
import { KEY_VAULT_RESOURCE, type TokenIssuer } from './tokens';
import { certificateBody, secretBody } from './vaultBodies';
import type { VaultStore } from './vaultStore';

export interface VaultRouteContext {
  /** e.g. https://127.0.0.1:43117, the base of the ids in the answers. */
  vaultUrl: string;
  store: VaultStore;
  tokens: TokenIssuer;
  /** Where each request is recorded. */
  requests: RecordedVaultRequest[];
}

class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

function notFound(kind: VaultObjectKind, name: string, version: string | undefined): VaultError {
  const what = kind === 'secrets' ? 'secret' : 'certificate';
  return new VaultError(
    404,
    kind === 'secrets' ? 'SecretNotFound' : 'CertificateNotFound',
    `A ${what} with (name/id) ${version === undefined ? name : `${name}/${version}`} was not found in this key vault. If you recently deleted this ${what} you may be able to recover it using the correct recovery command.`,
  );
}

/** The body for an authorised request; a VaultError for any refusal. */
function readVaultObject(
  context: VaultRouteContext,
  request: IncomingMessage,
  url: URL,
  segments: string[],
): unknown {
  if (request.method !== 'GET') {
    throw new VaultError(405, 'MethodNotAllowed', `The stand-in serves GET only, not ${request.method}.`);
  }
  if (!url.searchParams.get('api-version')) {
    throw new VaultError(400, 'MissingApiVersionParameter', 'The api-version query parameter is required.');
  }
  const kind = segments[0];
  if ((kind !== 'secrets' && kind !== 'certificates') || segments.length < 2 || segments.length > 3) {
    throw new VaultError(404, 'NotFound', `No such resource: ${url.pathname}`);
  }
  const name = segments[1]!;
  const version = segments[2];
  if (context.store.isForbidden(kind, name)) {
    const permission = kind === 'secrets' ? 'secrets get' : 'certificates get';
    const { clientId, tenantId } = context.tokens;
    throw new VaultError(
      403,
      'Forbidden',
      `The user, group or application 'appid=${clientId};oid=${clientId};iss=https://sts.windows.net/${tenantId}/' does not have ${permission} permission on key vault 'stand-in;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
      'AccessDenied',
    );
  }
  if (kind === 'certificates') {
    const certificate = context.store.findCertificate(name, version);
    if (certificate === undefined) throw notFound(kind, name, version);
    return certificateBody(context.vaultUrl, certificate);
  }
  const record = context.store.findSecret(name, version);
  if (record === undefined) throw notFound(kind, name, version);
  if (!record.enabled) {
    throw new VaultError(
      403,
      'Forbidden',
      'Operation get is not allowed on a disabled secret.',
      'SecretDisabled',
    );
  }
  return secretBody(context.vaultUrl, record);
}

/** The 401 the SDKs answer with a token: no bearer at all, or one not issued for the vault. */
function unauthorized(
  context: VaultRouteContext,
  bearer: string | undefined,
): { code: string; message: string } | undefined {
  if (bearer === undefined) {
    return { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' };
  }
  if (context.tokens.audienceOf(bearer) !== KEY_VAULT_RESOURCE) {
    return { code: 'Unauthorized', message: 'AKV10032: Invalid issuer or token not issued for this vault.' };
  }
  return undefined;
}

export function vaultRoutes(
  context: VaultRouteContext,
): (request: IncomingMessage, response: ServerResponse) => void {
  const challengeHeader = `Bearer authorization="https://login.microsoftonline.com/${context.tokens.tenantId}", resource="${KEY_VAULT_RESOURCE}"`;
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'https://stand-in');
    const segments = url.pathname.split('/').filter((segment) => segment !== '');
    const recorded: RecordedVaultRequest = {
      method: request.method ?? 'GET',
      kind: segments[0] === 'secrets' || segments[0] === 'certificates' ? segments[0] : 'other',
      name: segments[1],
      version: segments[2],
      apiVersion: url.searchParams.get('api-version') ?? undefined,
      authorization: 'none',
      status: 0,
    };
    context.requests.push(recorded);
    const reply = (status: number, body: unknown, headers?: Record<string, string>): void => {
      recorded.status = status;
      sendJson(response, status, body, headers);
    };
    try {
      const bearer = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const refusal = unauthorized(context, bearer);
      if (refusal !== undefined) {
        if (bearer !== undefined) recorded.authorization = 'unknown';
        reply(401, { error: refusal }, { 'www-authenticate': challengeHeader });
        return;
      }
      recorded.authorization = 'issued';
      reply(200, readVaultObject(context, request, url, segments));
    } catch (error) {
      if (error instanceof VaultError) {
        reply(error.status, {
          error: {
            code: error.code,
            message: error.message,
            ...(error.innerCode === undefined ? {} : { innererror: { code: error.innerCode } }),
          },
        });
        return;
      }
      reply(500, { error: { code: 'InternalError', message: String(error) } });
    }
  };
}

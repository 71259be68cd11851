/**
 * A local Microsoft Graph stand-in for the SID ownership check (SID_VERIFY_WITH_GRAPH), never deployed. It
 * serves `GET /v1.0/users/{id | userPrincipalName}` over HTTPS as Graph does for the broker's one question
 * (`$select=onPremisesSecurityIdentifier`), and takes only bearer tokens that the Key Vault stand-in's
 * managed-identity endpoint issued for https://graph.microsoft.com (checked through its `audienceOf`), so the
 * broker's real DefaultAzureCredential path runs end to end.
 *
 * Graph's answers as the broker meets them: the selected property (null for a cloud-only user), 404
 * Request_ResourceNotFound for an unknown user, 401 InvalidAuthenticationToken without a valid token, 403
 * Authorization_RequestDenied when the app lacks User.Read.All, and any status queued with `failNext`.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
const USERS_PATH = /^\/v1\.0\/users\/([^/]+)$/;

export interface GraphStandInOptions {
  /** Server certificate for 127.0.0.1 / localhost and its key (e.g. the dev PKI's keyVaultTls). */
  tls: { certPem: string; keyPem: string };
  /** The audience a bearer token was issued for, or undefined (not issued, expired): KeyVaultStandIn.audienceOf. */
  audienceOf(token: string): string | undefined;
}

export interface GraphStandInUser {
  /** null: a cloud-only account (Graph answers the property as null). */
  onPremisesSecurityIdentifier: string | null;
}

export interface RecordedGraphRequest {
  method: string;
  path: string;
  select: string | null;
  authorization: 'none' | 'graph' | 'other-audience' | 'unknown';
  status: number;
}

export interface GraphStandIn {
  /** e.g. https://127.0.0.1:43118 (use as GRAPH_BASE_URL). */
  url: string;
  /** Adds or replaces a user; userPrincipalName matches case-insensitively, as in Entra ID. */
  putUser(userPrincipalName: string, user: GraphStandInUser): void;
  /** Whether the caller holds User.Read.All (default true); false answers 403 Authorization_RequestDenied. */
  setPermissionGranted(granted: boolean): void;
  /** Answers the next `count` user lookups with `status` (e.g. 503, 429) before serving normally again. */
  failNext(status: number, count?: number): void;
  readonly requests: readonly RecordedGraphRequest[];
  close(): Promise<void>;
}

function graphError(status: number, code: string, message: string): { status: number; body: unknown } {
  const now = new Date().toISOString();
  return {
    status,
    body: {
      error: {
        code,
        message,
        innerError: { date: now, 'request-id': randomUUID(), 'client-request-id': randomUUID() },
      },
    },
  };
}

export async function startGraphStandIn(options: GraphStandInOptions): Promise<GraphStandIn> {
  const users = new Map<string, GraphStandInUser>();
  const requests: RecordedGraphRequest[] = [];
  const failures: number[] = [];
  let permissionGranted = true;
  let url = '';

  const answer = (
    request: http.IncomingMessage,
    recorded: RecordedGraphRequest,
  ): { status: number; body: unknown } => {
    const bearer = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer === undefined) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const audience = options.audienceOf(bearer);
    recorded.authorization =
      audience === undefined ? 'unknown' : audience === GRAPH_AUDIENCE ? 'graph' : 'other-audience';
    if (audience !== GRAPH_AUDIENCE) {
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
      );
    }
    const match = USERS_PATH.exec(recorded.path);
    if (request.method !== 'GET' || match === null) {
      return graphError(400, 'BadRequest', `Resource not found for the segment '${recorded.path}'.`);
    }
    const queued = failures.shift();
    if (queued !== undefined) return graphError(queued, 'UnknownError', 'Injected failure of the stand-in.');
    if (!permissionGranted) {
      return graphError(
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    }
    const id = decodeURIComponent(match[1]!);
    const user = users.get(id.toLowerCase());
    if (user === undefined) {
      return graphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    return {
      status: 200,
      body: {
        '@odata.context': `${url}/v1.0/$metadata#users(onPremisesSecurityIdentifier)/$entity`,
        onPremisesSecurityIdentifier: user.onPremisesSecurityIdentifier,
      },
    };
  };

  const server = https.createServer(
    { key: options.tls.keyPem, cert: options.tls.certPem },
    (request, response) => {
      const parsed = new URL(request.url ?? '/', 'https://stand-in');
      const recorded: RecordedGraphRequest = {
        method: request.method ?? 'GET',
        path: parsed.pathname,
        select: parsed.searchParams.get('$select'),
        authorization: 'none',
        status: 0,
      };
      requests.push(recorded);
      const { status, body } = answer(request, recorded);
      recorded.status = status;
      const text = JSON.stringify(body);
      response.writeHead(status, {
        'content-type':
          'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'request-id': randomUUID(),
      });
      response.end(text);
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  url = `https://127.0.0.1:${port}`;

  return {
    url,
    putUser(userPrincipalName, user) {
      users.set(userPrincipalName.toLowerCase(), { ...user });
    },
    setPermissionGranted(granted) {
      permissionGranted = granted;
    },
    failNext(status, count = 1) {
      for (let i = 0; i < count; i += 1) failures.push(status);
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

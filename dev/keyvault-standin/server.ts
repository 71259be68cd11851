/**
 * A local Azure Key Vault stand-in for the dev stack and the tests (never deployed). The real
 * `@azure/keyvault-secrets` / `@azure/keyvault-certificates` clients talk to it over HTTPS, including the
 * 401 bearer challenge, and an Azure App Service managed-identity endpoint beside it hands out the only
 * tokens it accepts. So production code keeps `new DefaultAzureCredential()` and, locally, the environment
 * variables `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` (exactly what Azure Functions sets) point it here. The
 * same endpoint issues storage tokens (https://storage.azure.com) that Azurite accepts with `--oauth basic`,
 * so identity-based AzureWebJobsStorage runs locally as in Azure, and Microsoft Graph tokens
 * (https://graph.microsoft.com) that the Graph stand-in (dev/graph-standin) checks with `audienceOf`.
 *
 * Wire shapes follow what the SDKs send and parse (docs/toolchain-notes.md §4) and what
 * @azure/msal-node 5.x (inside @azure/identity 4.13) sends to App Service: `GET <IDENTITY_ENDPOINT>
 * ?api-version=2019-08-01&resource=https://vault.azure.net` with header `X-IDENTITY-HEADER`, answered with
 * `{access_token, expires_on: "<unix seconds>", resource, token_type: "Bearer", client_id}`.
 *
 * msal-node reads IDENTITY_ENDPOINT/IDENTITY_HEADER once per process (a static managed-identity source) and
 * caches tokens process-wide: set them before the first credential is made, and use one stand-in per
 * process. Imported PFX files must hold RSA keys (forge re-exports them); PEM imports take any key type.
 */
import {
  createHash,
  createHmac,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  X509Certificate,
} from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { createCertificate, type TestCertificate } from '../pki/certificates';

const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
/** Storage (queues, tables): Azurite started with `--oauth basic` accepts these tokens over HTTPS. */
export const STORAGE_RESOURCE = 'https://storage.azure.com';
/** Microsoft Graph: the Graph stand-in accepts these tokens (it asks `audienceOf`). */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
const TOKEN_RESOURCES = [KEY_VAULT_RESOURCE, STORAGE_RESOURCE, GRAPH_RESOURCE];
const APP_SERVICE_MSI_API_VERSION = '2019-08-01';
const IDENTITY_PATH = '/msi/token';
const NAME_PATTERN = /^[0-9A-Za-z-]{1,127}$/;

export type StandInCertificateInput =
  | {
      /** PKCS#12 as imported into Key Vault. */
      pfx: Buffer;
      /**
       * The import password. When given, the stand-in opens the PFX and serves it back without a password,
       * as Key Vault does; when absent the bytes are served as they are (they must then need no password).
       */
      password?: string;
      /** Key policy `exportable`; a non-exportable certificate's secret holds no private key. Default true. */
      exportable?: boolean;
      enabled?: boolean;
    }
  | {
      /** PEM with the private key (PKCS#8) and the certificate(s), served as `application/x-pem-file`. */
      pem: string;
      exportable?: boolean;
      enabled?: boolean;
    };

export interface StoredCertificateVersion {
  name: string;
  version: string;
  /** Upper-case hex SHA-1 of the certificate, as Windows shows it. */
  thumbprint: string;
  certificateId: string;
  secretId: string;
}

export type VaultObjectKind = 'secrets' | 'certificates';

export interface RecordedVaultRequest {
  method: string;
  kind: VaultObjectKind | 'other';
  name?: string;
  version?: string;
  apiVersion?: string;
  authorization: 'none' | 'issued' | 'unknown';
  status: number;
}

export interface RecordedTokenRequest {
  resource: string | null;
  apiVersion: string | null;
  /** A user-assigned identity's client_id / mi_res_id / object_id, when one was asked for. */
  userAssignedId?: string;
  identityHeaderValid: boolean;
  status: number;
}

export interface KeyVaultStandInOptions {
  /** Server certificate for 127.0.0.1 / localhost (see createStandInTls) and its key. */
  tls: { certPem: string; keyPem: string };
  /** Tenant named in the bearer challenge; the SDK passes it to getToken. */
  tenantId?: string;
  /** The secret the managed-identity endpoint expects in X-IDENTITY-HEADER; random when absent. */
  identityHeader?: string;
  /**
   * Client ids of user-assigned identities "assigned to the app"; a token request for any other client_id
   * gets App Service's 400 "Unable to load the proper Managed Identity." The system-assigned one always works.
   */
  userAssignedClientIds?: string[];
  /** Lifetime of the access tokens it issues. Default one day, like App Service. */
  tokenLifetimeSeconds?: number;
  now?: () => Date;
}

export interface KeyVaultStandIn {
  /** Vault URL, e.g. https://127.0.0.1:43117 (use as KEY_VAULT_URL). */
  url: string;
  port: number;
  tenantId: string;
  /** The App Service managed-identity endpoint (plain HTTP on loopback, as on App Service). */
  identityEndpoint: string;
  identityHeader: string;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER for a process whose DefaultAzureCredential should use this. */
  identityEnvironment: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /**
   * The resource an opaque token (Key Vault, Graph) was issued for, or undefined when this stand-in did not
   * issue it or it has expired: how other stand-ins check a bearer token's audience.
   */
  audienceOf(token: string): string | undefined;
  /** A TokenCredential-compatible object that takes tokens straight from the stand-in (no MSAL). */
  credential: {
    getToken(
      scopes?: string | string[],
    ): Promise<{ token: string; expiresOnTimestamp: number; tokenType: 'Bearer' }>;
  };
  /** Imports a certificate as a new version (the latest version is what name-only requests get). */
  putCertificate(name: string, input: StandInCertificateInput): StoredCertificateVersion;
  /** Removes every version of a certificate (its secret stays unless deleteSecret is called too). */
  deleteCertificate(name: string): void;
  /** Removes every version of the secret behind a certificate. */
  deleteSecret(name: string): void;
  /** Makes `GET /<kind>/<name>` answer 403 (as if the caller lacked that permission), or lifts it. */
  setForbidden(name: string, kinds: VaultObjectKind[]): void;
  readonly requests: readonly RecordedVaultRequest[];
  readonly tokenRequests: readonly RecordedTokenRequest[];
  close(): Promise<void>;
}

/** A dev TLS root and a server certificate for 127.0.0.1 + localhost signed by it. */
export function createStandInTls(root?: TestCertificate): {
  rootCertPem: string;
  certPem: string;
  keyPem: string;
} {
  const issuer =
    root ??
    createCertificate({ subject: [{ shortName: 'CN', value: 'Dev Key Vault TLS Root' }], isCa: true });
  const server = createCertificate({
    subject: [{ shortName: 'CN', value: 'localhost' }],
    issuer,
    days: 30,
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  return { rootCertPem: issuer.certPem, certPem: server.certPem, keyPem: server.keyPem! };
}

interface VersionRecord {
  name: string;
  version: string;
  enabled: boolean;
  exportable: boolean;
  createdSeconds: number;
  certificate: X509Certificate;
  keyType: 'RSA' | 'EC';
  keySize?: number;
  secretValue: string;
  contentType: 'application/x-pkcs12' | 'application/x-pem-file';
}

interface NameRecord {
  certificateVersions: VersionRecord[];
  secretVersions: VersionRecord[];
  forbidden: Set<VaultObjectKind>;
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

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function sameSecret(expected: string, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}

function forgeCertificateDer(cert: forge.pki.Certificate): Buffer {
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
}

/** Reads an imported PFX the way Key Vault does: opens it, finds the certificate that goes with the key. */
function importPfx(
  input: { pfx: Buffer; password?: string },
  exportable: boolean,
): { certificate: X509Certificate; secretValue: string; keyType: 'RSA' | 'EC'; keySize?: number } {
  const p12 = forge.pkcs12.pkcs12FromAsn1(
    forge.asn1.fromDer(input.pfx.toString('binary'), false),
    false,
    input.password,
  );
  const certs: forge.pki.Certificate[] = [];
  for (const bag of p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []) {
    if (bag.cert) certs.push(bag.cert);
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ??
      []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ];
  const key = keyBags.find((bag) => bag.key)?.key as forge.pki.rsa.PrivateKey | undefined;
  if (certs.length === 0) throw new Error('the PFX holds no certificate');
  const leaf =
    (key && certs.find((cert) => (cert.publicKey as forge.pki.rsa.PublicKey).n.compareTo(key.n) === 0)) ??
    certs[0]!;
  const others = certs.filter((cert) => cert !== leaf);
  let secretValue: string;
  if (!exportable || input.password !== undefined) {
    // Key Vault serves the PFX without its import password, and without the key when not exportable.
    const asn1 = forge.pkcs12.toPkcs12Asn1(exportable && key ? key : null, [leaf, ...others], null, {
      algorithm: '3des',
      useMac: false,
    });
    secretValue = Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary').toString('base64');
  } else {
    secretValue = input.pfx.toString('base64');
  }
  return {
    certificate: new X509Certificate(forgeCertificateDer(leaf)),
    secretValue,
    keyType: 'RSA',
    keySize: (leaf.publicKey as forge.pki.rsa.PublicKey).n.bitLength(),
  };
}

function importPem(
  pem: string,
  exportable: boolean,
): { certificate: X509Certificate; secretValue: string; keyType: 'RSA' | 'EC'; keySize?: number } {
  const certBlocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certBlocks.length === 0) throw new Error('the PEM holds no certificate');
  const keyBlock = pem.match(
    /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/,
  )?.[0];
  const certificate = new X509Certificate(certBlocks[0]!);
  const secretValue =
    exportable && keyBlock !== undefined
      ? `${keyBlock}\n${certBlocks.join('\n')}\n`
      : `${certBlocks.join('\n')}\n`;
  const publicKey = certificate.publicKey;
  return {
    certificate,
    secretValue,
    keyType: publicKey.asymmetricKeyType === 'ec' ? 'EC' : 'RSA',
    keySize: publicKey.asymmetricKeyDetails?.modulusLength,
  };
}

function readCertificateName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new Error(`"${name}" is not a valid Key Vault object name`);
  return name;
}

export async function startKeyVaultStandIn(options: KeyVaultStandInOptions): Promise<KeyVaultStandIn> {
  const now = options.now ?? (() => new Date());
  const tenantId = options.tenantId ?? '00000000-0000-4000-8000-00000000a11e';
  const identityHeader = options.identityHeader ?? randomBytes(24).toString('base64url');
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 86400;
  const clientId = randomUUID();
  const names = new Map<string, NameRecord>();
  /** Opaque tokens issued: their resource (audience) and expiry in Unix seconds. */
  const issuedTokens = new Map<string, { resource: string; expiresOnSeconds: number }>();
  const requests: RecordedVaultRequest[] = [];
  const tokenRequests: RecordedTokenRequest[] = [];
  let vaultUrl = '';

  const recordFor = (name: string): NameRecord => {
    const key = name.toLowerCase(); // Key Vault names are case-insensitive.
    let record = names.get(key);
    if (!record) {
      record = { certificateVersions: [], secretVersions: [], forbidden: new Set() };
      names.set(key, record);
    }
    return record;
  };

  const principalId = randomUUID();
  const jwtKey = randomBytes(32);
  /**
   * Vault and Graph tokens are opaque (only the stand-ins check them, through audienceOf). Storage tokens are JWTs with the claims Azurite's
   * basic OAuth checks (issuer, audience, iat/nbf/exp); it does not check the signature, so HS256 with a key
   * of this stand-in's own is enough (Entra ID signs RS256 with its published keys).
   */
  const issueToken = (resource: string = KEY_VAULT_RESOURCE): { token: string; expiresOnSeconds: number } => {
    const issuedAt = seconds(now());
    const expiresOnSeconds = issuedAt + tokenLifetimeSeconds;
    if (resource !== STORAGE_RESOURCE) {
      const token = randomBytes(32).toString('base64url');
      issuedTokens.set(token, { resource, expiresOnSeconds });
      return { token, expiresOnSeconds };
    }
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
      aud: STORAGE_RESOURCE,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: issuedAt,
      nbf: issuedAt,
      exp: expiresOnSeconds,
      appid: clientId,
      oid: principalId,
      sub: principalId,
      tid: tenantId,
      idtyp: 'app',
      ver: '1.0',
    })}`;
    const signature = createHmac('sha256', jwtKey).update(unsigned).digest('base64url');
    return { token: `${unsigned}.${signature}`, expiresOnSeconds };
  };

  const audienceOf = (token: string): string | undefined => {
    const issued = issuedTokens.get(token);
    return issued === undefined || issued.expiresOnSeconds <= seconds(now()) ? undefined : issued.resource;
  };

  const attributes = (record: VersionRecord) => ({
    enabled: record.enabled,
    nbf: seconds(new Date(record.certificate.validFrom)),
    exp: seconds(new Date(record.certificate.validTo)),
    created: record.createdSeconds,
    updated: record.createdSeconds,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  });

  const certificateBody = (record: VersionRecord) => {
    const sha1 = createHash('sha1').update(record.certificate.raw).digest();
    return {
      id: `${vaultUrl}/certificates/${record.name}/${record.version}`,
      kid: `${vaultUrl}/keys/${record.name}/${record.version}`,
      sid: `${vaultUrl}/secrets/${record.name}/${record.version}`,
      x5t: sha1.toString('base64url'),
      cer: record.certificate.raw.toString('base64'),
      attributes: attributes(record),
      policy: {
        id: `${vaultUrl}/certificates/${record.name}/policy`,
        key_props: {
          exportable: record.exportable,
          kty: record.keyType,
          ...(record.keySize === undefined ? {} : { key_size: record.keySize }),
          reuse_key: false,
        },
        secret_props: { contentType: record.contentType },
        x509_props: {
          subject: record.certificate.subject.split('\n').reverse().join(', '),
          ekus: record.certificate.keyUsage ?? [],
          key_usage: ['digitalSignature', 'keyEncipherment'],
          validity_months: 12,
        },
        lifetime_actions: [
          { trigger: { lifetime_percentage: 80 }, action: { action_type: 'EmailContacts' } },
        ],
        issuer: { name: 'Unknown' },
        attributes: { enabled: true, created: record.createdSeconds, updated: record.createdSeconds },
      },
      tags: {},
    };
  };

  const secretBody = (record: VersionRecord) => ({
    value: record.secretValue,
    contentType: record.contentType,
    id: `${vaultUrl}/secrets/${record.name}/${record.version}`,
    managed: true,
    kid: `${vaultUrl}/keys/${record.name}/${record.version}`,
    attributes: attributes(record),
    tags: {},
  });

  const findVersion = (kind: VaultObjectKind, name: string, version: string | undefined): VersionRecord => {
    const record = names.get(name.toLowerCase());
    const versions = kind === 'secrets' ? record?.secretVersions : record?.certificateVersions;
    const found =
      version === undefined ? versions?.at(-1) : versions?.find((candidate) => candidate.version === version);
    if (!found) {
      const what = kind === 'secrets' ? 'secret' : 'certificate';
      throw new VaultError(
        404,
        kind === 'secrets' ? 'SecretNotFound' : 'CertificateNotFound',
        `A ${what} with (name/id) ${version === undefined ? name : `${name}/${version}`} was not found in this key vault. If you recently deleted this ${what} you may be able to recover it using the correct recovery command.`,
      );
    }
    return found;
  };

  const sendJson = (
    response: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-ms-request-id': randomUUID(),
      ...headers,
    });
    response.end(text);
  };

  const challengeHeader = `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_RESOURCE}"`;

  const handleVault = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = new URL(request.url ?? '/', 'https://stand-in');
    const query = new URLSearchParams(url.search);
    const segments = url.pathname.split('/').filter((segment) => segment !== '');
    const kind: VaultObjectKind | 'other' =
      segments[0] === 'secrets' || segments[0] === 'certificates' ? segments[0] : 'other';
    const recorded: RecordedVaultRequest = {
      method: request.method ?? 'GET',
      kind,
      name: segments[1],
      version: segments[2],
      apiVersion: query.get('api-version') ?? undefined,
      authorization: 'none',
      status: 0,
    };
    requests.push(recorded);
    const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
      recorded.status = status;
      sendJson(response, status, body, headers);
    };
    try {
      const bearer = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (bearer === undefined) {
        reply(
          401,
          { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
          { 'www-authenticate': challengeHeader },
        );
        return;
      }
      if (audienceOf(bearer) !== KEY_VAULT_RESOURCE) {
        recorded.authorization = 'unknown';
        reply(
          401,
          {
            error: {
              code: 'Unauthorized',
              message: 'AKV10032: Invalid issuer or token not issued for this vault.',
            },
          },
          { 'www-authenticate': challengeHeader },
        );
        return;
      }
      recorded.authorization = 'issued';
      if (request.method !== 'GET') {
        throw new VaultError(405, 'MethodNotAllowed', `The stand-in serves GET only, not ${request.method}.`);
      }
      if (!query.get('api-version')) {
        throw new VaultError(
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter is required.',
        );
      }
      if (kind === 'other' || segments.length < 2 || segments.length > 3) {
        throw new VaultError(404, 'NotFound', `No such resource: ${url.pathname}`);
      }
      const name = segments[1]!;
      const version = segments[2];
      if (names.get(name.toLowerCase())?.forbidden.has(kind)) {
        const permission = kind === 'secrets' ? 'secrets get' : 'certificates get';
        throw new VaultError(
          403,
          'Forbidden',
          `The user, group or application 'appid=${clientId};oid=${clientId};iss=https://sts.windows.net/${tenantId}/' does not have ${permission} permission on key vault 'stand-in;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
          'AccessDenied',
        );
      }
      const record = findVersion(kind, name, version);
      if (kind === 'secrets') {
        if (!record.enabled) {
          throw new VaultError(
            403,
            'Forbidden',
            'Operation get is not allowed on a disabled secret.',
            'SecretDisabled',
          );
        }
        reply(200, secretBody(record));
      } else {
        reply(200, certificateBody(record));
      }
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

  const handleIdentity = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const query = new URLSearchParams(url.search);
    const headerValue = request.headers['x-identity-header'];
    const userAssignedId = query.get('client_id') ?? query.get('mi_res_id') ?? query.get('object_id');
    const recorded: RecordedTokenRequest = {
      resource: query.get('resource'),
      apiVersion: query.get('api-version'),
      ...(userAssignedId === null ? {} : { userAssignedId }),
      identityHeaderValid: sameSecret(
        identityHeader,
        Array.isArray(headerValue) ? headerValue[0] : headerValue,
      ),
      status: 0,
    };
    tokenRequests.push(recorded);
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
    if (userAssignedId !== null && !(options.userAssignedClientIds ?? []).includes(userAssignedId)) {
      reply(400, {
        statusCode: 400,
        message: 'Unable to load the proper Managed Identity.',
        correlationId: randomUUID(),
      });
      return;
    }
    const { token, expiresOnSeconds } = issueToken(resource);
    reply(200, {
      access_token: token,
      // App Service sends Unix seconds as a string; MSAL subtracts "now" from it.
      expires_on: String(expiresOnSeconds),
      resource,
      token_type: 'Bearer',
      client_id: clientId,
    });
  };

  const vaultServer = https.createServer({ key: options.tls.keyPem, cert: options.tls.certPem }, handleVault);
  const identityServer = http.createServer(handleIdentity);
  const listen = (server: http.Server) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(vaultServer);
  const identityPort = await listen(identityServer).catch(async (error: unknown) => {
    await new Promise((resolve) => vaultServer.close(resolve));
    throw error;
  });
  vaultUrl = `https://127.0.0.1:${port}`;
  const identityEndpoint = `http://127.0.0.1:${identityPort}${IDENTITY_PATH}`;

  return {
    url: vaultUrl,
    port,
    tenantId,
    identityEndpoint,
    identityHeader,
    identityEnvironment: { IDENTITY_ENDPOINT: identityEndpoint, IDENTITY_HEADER: identityHeader },
    audienceOf,
    credential: {
      async getToken(scopes: string | string[] = `${KEY_VAULT_RESOURCE}/.default`) {
        const scope = [scopes].flat()[0] ?? '';
        const resource = scope.replace(/\/\.default$/, '').replace(/\/$/, '');
        if (!TOKEN_RESOURCES.includes(resource)) {
          throw new Error(`the identity stand-in issues no token for the scope ${scope}`);
        }
        const { token, expiresOnSeconds } = issueToken(resource);
        return { token, expiresOnTimestamp: expiresOnSeconds * 1000, tokenType: 'Bearer' as const };
      },
    },
    putCertificate(name, input) {
      readCertificateName(name);
      const exportable = input.exportable ?? true;
      const imported = 'pfx' in input ? importPfx(input, exportable) : importPem(input.pem, exportable);
      const record: VersionRecord = {
        name,
        version: randomBytes(16).toString('hex'),
        enabled: input.enabled ?? true,
        exportable,
        createdSeconds: seconds(now()),
        certificate: imported.certificate,
        keyType: imported.keyType,
        keySize: imported.keySize,
        secretValue: imported.secretValue,
        contentType: 'pfx' in input ? 'application/x-pkcs12' : 'application/x-pem-file',
      };
      const stored = recordFor(name);
      stored.certificateVersions.push(record);
      stored.secretVersions.push(record);
      return {
        name,
        version: record.version,
        thumbprint: createHash('sha1').update(record.certificate.raw).digest('hex').toUpperCase(),
        certificateId: `${vaultUrl}/certificates/${name}/${record.version}`,
        secretId: `${vaultUrl}/secrets/${name}/${record.version}`,
      };
    },
    deleteCertificate(name) {
      recordFor(name).certificateVersions = [];
    },
    deleteSecret(name) {
      recordFor(name).secretVersions = [];
    },
    setForbidden(name, kinds) {
      recordFor(name).forbidden = new Set(kinds);
    },
    requests,
    tokenRequests,
    async close() {
      const stop = (server: http.Server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      await Promise.all([stop(vaultServer), stop(identityServer)]);
    },
  };
}

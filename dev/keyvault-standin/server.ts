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
 *
 * This file starts the two servers; the store (vaultStore.ts), the vault routes (vaultRoutes.ts), the
 * tokens (tokens.ts) and the identity endpoint (identityEndpoint.ts) are beside it.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type {
  KeyVaultStandIn,
  KeyVaultStandInOptions,
  RecordedTokenRequest,
  RecordedVaultRequest,
} from './api';
import { IDENTITY_PATH, identityEndpoint } from './identityEndpoint';
import { TokenIssuer } from './tokens';
import { vaultRoutes } from './vaultRoutes';
import { VaultStore } from './vaultStore';

export type {
  KeyVaultStandIn,
  KeyVaultStandInOptions,
  RecordedTokenRequest,
  RecordedVaultRequest,
  StandInCertificateInput,
  StoredCertificateVersion,
  VaultObjectKind,
} from './api';
export { GRAPH_RESOURCE, STORAGE_RESOURCE } from './tokens';
export { createStandInTls } from './tls';

function listen(server: http.Server): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function stop(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startKeyVaultStandIn(options: KeyVaultStandInOptions): Promise<KeyVaultStandIn> {
  const now = options.now ?? (() => new Date());
  const tokens = new TokenIssuer(
    options.tenantId ?? '00000000-0000-4000-8000-00000000a11e',
    options.tokenLifetimeSeconds ?? 86400,
    now,
  );
  const identityHeader = options.identityHeader ?? randomBytes(24).toString('base64url');
  const store = new VaultStore(now);
  const requests: RecordedVaultRequest[] = [];
  const tokenRequests: RecordedTokenRequest[] = [];

  // The routes are attached once both listen: the vault's answers carry its URL, which has the port in it.
  const vaultServer = https.createServer({ key: options.tls.keyPem, cert: options.tls.certPem });
  const identityServer = http.createServer();
  const port = await listen(vaultServer);
  const identityPort = await listen(identityServer).catch(async (error: unknown) => {
    await new Promise((resolve) => vaultServer.close(resolve));
    throw error;
  });
  const vaultUrl = `https://127.0.0.1:${port}`;
  const identityUrl = `http://127.0.0.1:${identityPort}${IDENTITY_PATH}`;
  vaultServer.on('request', vaultRoutes({ vaultUrl, store, tokens, requests }));
  identityServer.on(
    'request',
    identityEndpoint({
      tokens,
      identityHeader,
      userAssignedClientIds: options.userAssignedClientIds ?? [],
      tokenRequests,
    }),
  );

  return {
    url: vaultUrl,
    port,
    tenantId: tokens.tenantId,
    identityEndpoint: identityUrl,
    identityHeader,
    identityEnvironment: { IDENTITY_ENDPOINT: identityUrl, IDENTITY_HEADER: identityHeader },
    audienceOf: (token) => tokens.audienceOf(token),
    credential: {
      async getToken(scopes?: string | string[]) {
        return tokens.getToken(scopes);
      },
    },
    putCertificate(name, input) {
      const record = store.putCertificate(name, input);
      return {
        name,
        version: record.version,
        thumbprint: createHash('sha1').update(record.certificate.raw).digest('hex').toUpperCase(),
        certificateId: `${vaultUrl}/certificates/${name}/${record.version}`,
        secretId: `${vaultUrl}/secrets/${name}/${record.version}`,
      };
    },
    putSecret: (name, value, options = {}) => ({ version: store.putSecret(name, value, options).version }),
    setSecretVersionEnabled: (name, version, enabled) =>
      store.setSecretVersionEnabled(name, version, enabled),
    deleteCertificate: (name) => store.deleteCertificate(name),
    deleteSecret: (name) => store.deleteSecret(name),
    setForbidden: (name, kinds) => store.setForbidden(name, kinds),
    requests,
    tokenRequests,
    async close() {
      await Promise.all([stop(vaultServer), stop(identityServer)]);
    },
  };
}

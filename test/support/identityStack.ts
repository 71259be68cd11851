/**
 * Identity-based access as in Azure with shared keys off, on the dev PKI: Azurite over HTTPS with `--oauth
 * basic` (it takes bearer tokens only, checks their issuer, audience and lifetime, and refuses them over
 * HTTP), and the Key Vault stand-in, whose managed-identity endpoint hands out those tokens. Both serve the
 * dev PKI's server certificate for 127.0.0.1 (`keyVaultTls`), so clients trust them through the dev TLS root.
 */
import { readFileSync } from 'node:fs';
import { startAzurite, type RunningAzurite } from '../../dev/host/azurite';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../../dev/keyvault-standin/server';
import type { DevPki } from '../../dev/pki/devPki';

/** Azurite as Azure Storage with shared keys off looks to a client: HTTPS, bearer tokens only. */
export function startAzuriteWithOAuth(pki: DevPki): Promise<RunningAzurite> {
  return startAzurite({
    tls: { certPath: pki.keyVaultTls.certPath, keyPath: pki.keyVaultTls.keyPath },
    oauth: true,
  });
}

/** The Key Vault stand-in (and managed-identity endpoint) over HTTPS with the dev TLS certificate. */
export function startKeyVaultStandInWithDevTls(pki: DevPki): Promise<KeyVaultStandIn> {
  return startKeyVaultStandIn({
    tls: { certPem: pki.keyVaultTls.certPem, keyPem: pki.keyVaultTls.keyPem },
  });
}

/** What decides which credential DefaultAzureCredential uses; cleared so that only the stand-in's is found. */
const IDENTITY_VARIABLES = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'AZURE_TOKEN_CREDENTIALS',
];

/**
 * Points this process's DefaultAzureCredential at the stand-in's managed-identity endpoint, as Azure Functions
 * does with IDENTITY_ENDPOINT/IDENTITY_HEADER. Call it before the first credential is made (msal reads the
 * variables once per process). Returns what puts the environment back.
 */
export function useManagedIdentityOf(vault: KeyVaultStandIn): () => void {
  const saved = new Map(IDENTITY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of IDENTITY_VARIABLES) delete process.env[name];
  Object.assign(process.env, vault.identityEnvironment);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Imports the dev RA certificate (its PFX) into the vault as `certificateName`. */
export function putDevRaCertificate(vault: KeyVaultStandIn, pki: DevPki, certificateName: string): void {
  vault.putCertificate(certificateName, { pfx: readFileSync(pki.ra.pfxPath), password: pki.ra.pfxPassword });
}

/** The settings that point the app at `azurite`'s queues and tables by service URL, with no key. */
export function identityStorageSettings(azurite: RunningAzurite): {
  AzureWebJobsStorage__queueServiceUri: string;
  AzureWebJobsStorage__tableServiceUri: string;
} {
  return {
    AzureWebJobsStorage__queueServiceUri: azurite.queueServiceUrl,
    AzureWebJobsStorage__tableServiceUri: azurite.tableServiceUrl,
  };
}

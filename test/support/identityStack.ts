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

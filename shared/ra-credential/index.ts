/**
 * The RA credential: where it comes from (Key Vault in Azure, a PFX file locally), the checks it passes,
 * and the in-memory cache in front of it.
 */
import type { BrokerSettings } from '../config/settings';
import { BrokerError } from '../contract/errors';
import { CachedRaCredentialSource } from './cachedSource';
import { FileRaCredentialSource } from './fileSource';
import { KeyVaultRaCredentialSource, type KeyVaultRaCredentialSourceOptions } from './keyVaultSource';
import type { RaCredential, RaCredentialSource } from './types';

export type { RaCredential, RaCredentialSource } from './types';
export { CachedRaCredentialSource, type CachedRaCredentialSourceOptions } from './cachedSource';
export { FileRaCredentialSource, type FileRaCredentialSourceOptions } from './fileSource';
export {
  KeyVaultRaCredentialSource,
  type KeyVaultRaCredentialSourceOptions,
  isLoopbackUrl,
  isLoopbackVault,
  keyVaultClientOptions,
} from './keyVaultSource';
export { CLIENT_AUTH_EKU, thumbprintOf } from './checks';

/** Stands in for a source that cannot exist (settings missing): every load reports why. */
class UnconfiguredRaCredentialSource implements RaCredentialSource {
  constructor(private readonly error: BrokerError) {}

  load(): Promise<RaCredential> {
    return Promise.reject(this.error);
  }
}

export interface RaCredentialSourceOptions {
  /** Told after every Key Vault read (telemetry dependencies); must not throw. */
  onKeyVaultCall?: KeyVaultRaCredentialSourceOptions['onCall'];
}

function chooseSource(settings: BrokerSettings, options: RaCredentialSourceOptions): RaCredentialSource {
  if (settings.raCertificatePfxFile !== undefined) {
    return new FileRaCredentialSource({
      pfxFile: settings.raCertificatePfxFile,
      password: settings.raCertificatePfxPassword,
      thumbprintPin: settings.raCertThumbprints,
    });
  }
  const missing = [
    ...(settings.keyVaultUrl === undefined ? ['KEY_VAULT_URL'] : []),
    ...(settings.raCertificateName === undefined ? ['RA_CERTIFICATE_NAME'] : []),
  ];
  if (settings.keyVaultUrl === undefined || settings.raCertificateName === undefined) {
    return new UnconfiguredRaCredentialSource(
      new BrokerError(
        'RA_CERT_UNAVAILABLE',
        `RA certificate not configured: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set (and no RA_CERTIFICATE_PFX_FILE either).`,
        {
          remedy:
            'Set KEY_VAULT_URL (the vault URI) and RA_CERTIFICATE_NAME (the name of the RA certificate in that vault) in the Function App settings; for local runs RA_CERTIFICATE_PFX_FILE (+ RA_CERTIFICATE_PFX_PASSWORD) may be used instead.',
        },
      ),
    );
  }
  try {
    return new KeyVaultRaCredentialSource({
      vaultUrl: settings.keyVaultUrl,
      certificateName: settings.raCertificateName,
      thumbprintPin: settings.raCertThumbprints,
      ...(options.onKeyVaultCall === undefined ? {} : { onCall: options.onKeyVaultCall }),
    });
  } catch (error) {
    if (error instanceof BrokerError) return new UnconfiguredRaCredentialSource(error);
    throw error;
  }
}

/**
 * The broker's RA credential source: the file when RA_CERTIFICATE_PFX_FILE is set, else Key Vault
 * (KEY_VAULT_URL + RA_CERTIFICATE_NAME) through DefaultAzureCredential, cached for settings.raCacheTtlMs.
 * Never throws: missing or malformed settings surface as RA_CERT_UNAVAILABLE from load(), so every request
 * ends with a result that names the setting instead of the host failing to start.
 */
export function createRaCredentialSource(
  settings: BrokerSettings,
  options: RaCredentialSourceOptions = {},
): CachedRaCredentialSource {
  return new CachedRaCredentialSource({
    source: chooseSource(settings, options),
    ttlMs: settings.raCacheTtlMs,
  });
}

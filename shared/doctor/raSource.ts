/**
 * The RA credential source the broker would use for these settings (shared/ra-credential chooses the same
 * way: the PFX file when RA_CERTIFICATE_PFX_FILE is set, else Key Vault), built uncached and with the
 * doctor's Key Vault credential and test trust, so a check always reads the certificate afresh.
 */
import type { TokenCredential } from '@azure/identity';
import type { BrokerSettings } from '../config/settings';
import { BrokerError } from '../contract/errors';
import {
  FileRaCredentialSource,
  KeyVaultRaCredentialSource,
  type RaCredentialSource,
} from '../ra-credential';

export interface RaSourceOptions {
  keyVaultCredential?: TokenCredential;
  trustedCaPemForTests?: string[];
}

export type RaOrigin =
  | { kind: 'file'; path: string }
  | { kind: 'key-vault'; vaultUrl: string; certificateName: string }
  | { kind: 'unconfigured'; missing: string[] };

export function raOriginOf(settings: BrokerSettings): RaOrigin {
  if (settings.raCertificatePfxFile !== undefined)
    return { kind: 'file', path: settings.raCertificatePfxFile };
  if (settings.keyVaultUrl !== undefined && settings.raCertificateName !== undefined) {
    return { kind: 'key-vault', vaultUrl: settings.keyVaultUrl, certificateName: settings.raCertificateName };
  }
  return {
    kind: 'unconfigured',
    missing: [
      ...(settings.keyVaultUrl === undefined ? ['KEY_VAULT_URL'] : []),
      ...(settings.raCertificateName === undefined ? ['RA_CERTIFICATE_NAME'] : []),
    ],
  };
}

export function describeRaOrigin(origin: RaOrigin): string {
  switch (origin.kind) {
    case 'file':
      return `file ${origin.path}`;
    case 'key-vault':
      return `Key Vault certificate "${origin.certificateName}" in ${origin.vaultUrl}`;
    case 'unconfigured':
      return `not configured (${origin.missing.join(' and ')} not set, no RA_CERTIFICATE_PFX_FILE)`;
  }
}

export const RA_NOT_CONFIGURED_REMEDY =
  'Set KEY_VAULT_URL (the vault URI) and RA_CERTIFICATE_NAME (the name of the RA certificate in that vault) in the Function App settings; for local runs RA_CERTIFICATE_PFX_FILE (+ RA_CERTIFICATE_PFX_PASSWORD) may be used instead.';

/** Throws BrokerError RA_CERT_UNAVAILABLE when the settings name no source, or a malformed vault URL/name. */
/**
 * How the doctor reads Key Vault (the RA certificate, the signing key): one retry, the credential and the
 * test-only extra trust its options give.
 */
export function doctorKeyVaultAccess(options: RaSourceOptions): {
  maxRetries: number;
  credential?: TokenCredential;
  trustedCaPemForTests?: string;
} {
  return {
    maxRetries: 1,
    ...(options.keyVaultCredential === undefined ? {} : { credential: options.keyVaultCredential }),
    ...(options.trustedCaPemForTests === undefined
      ? {}
      : { trustedCaPemForTests: options.trustedCaPemForTests.join('\n') }),
  };
}

export function createRaSource(settings: BrokerSettings, options: RaSourceOptions = {}): RaCredentialSource {
  const origin = raOriginOf(settings);
  switch (origin.kind) {
    case 'file':
      return new FileRaCredentialSource({
        pfxFile: origin.path,
        password: settings.raCertificatePfxPassword,
        thumbprintPin: settings.raCertThumbprints,
      });
    case 'key-vault':
      return new KeyVaultRaCredentialSource({
        vaultUrl: origin.vaultUrl,
        certificateName: origin.certificateName,
        thumbprintPin: settings.raCertThumbprints,
        ...doctorKeyVaultAccess(options),
      });
    case 'unconfigured':
      throw new BrokerError('RA_CERT_UNAVAILABLE', `RA certificate ${describeRaOrigin(origin)}.`, {
        remedy: RA_NOT_CONFIGURED_REMEDY,
      });
  }
}

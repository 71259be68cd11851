/**
 * The RA credential from Azure Key Vault, as it runs in Azure: the certificate's metadata from
 * CertificateClient (thumbprint, enabled, validity, key policy), its key material from SecretClient (the
 * secret of the same name and version, PKCS#12 or PEM). Authentication is the Function App's managed
 * identity through `new DefaultAzureCredential()`; locally IDENTITY_ENDPOINT/IDENTITY_HEADER point that same
 * code at the Key Vault stand-in.
 */
import { X509Certificate } from 'node:crypto';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  CertificateClient,
  type CertificateClientOptions,
  type KeyVaultCertificateWithPolicy,
} from '@azure/keyvault-certificates';
import { SecretClient, type KeyVaultSecret } from '@azure/keyvault-secrets';
import { BrokerError } from '../contract/errors';
import {
  buildRaCredential,
  checkRaCertificate,
  thumbprintPins,
  raCredentialFailure,
  type RaLocation,
} from './checks';
import { field, keyVaultFailure } from './keyVaultFailure';
import { looksLikePem, MaterialReadError, readPem, readPkcs12, type RaKeyMaterial } from './material';
import type { RaCredential, RaCredentialSource } from './types';

export interface KeyVaultRaCredentialSourceOptions {
  /** KEY_VAULT_URL, e.g. https://contoso-broker.vault.azure.net */
  vaultUrl: string;
  /** RA_CERTIFICATE_NAME */
  certificateName: string;
  /** RA_CERT_THUMBPRINT (SHA-1 hex; spaces and colons are ignored). */
  /** RA_CERT_THUMBPRINT: one thumbprint or several (rotation). */
  thumbprintPin?: string | readonly string[];
  /** Defaults to `new DefaultAzureCredential()` (the managed identity in Azure). */
  credential?: TokenCredential;
  now?: () => Date;
  /** SDK retries per Key Vault call (SDK default 3); the queue retries the whole request on top. */
  maxRetries?: number;
  /**
   * TEST ONLY: a CA (PEM) to trust for the vault's TLS certificate in addition to Node's roots. Production
   * and the dev host get extra trust from NODE_EXTRA_CA_CERTS, which Node reads at start-up only, so tests
   * running inside jest's process have no other way to trust the stand-in. Never set from settings.
   */
  trustedCaPemForTests?: string;
  /** Told after every Key Vault read, for telemetry; must not throw (what it throws is ignored). */
  onCall?: (call: KeyVaultCallReport) => void;
}

/** One Key Vault read, as reported to KeyVaultRaCredentialSourceOptions.onCall. */
export interface KeyVaultCallReport {
  operation: 'getCertificate' | 'getSecret';
  vaultHost: string;
  durationMs: number;
  success: boolean;
  /** "200", else the HTTP status or error code of the failure. */
  code: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether a URL points at this machine: where the stand-ins (and nothing in Azure) live. */
export function isLoopbackUrl(url: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(url).hostname.toLowerCase());
}

/** The stand-in (and nothing in Azure) lives on loopback. */
export function isLoopbackVault(vaultUrl: string): boolean {
  return isLoopbackUrl(vaultUrl);
}

/**
 * Options shared by both Key Vault clients. Challenge resource verification (the token audience must match
 * the vault's domain) stays on for real vaults; only a loopback vault, whose host can never match
 * vault.azure.net, goes without it.
 */
export function keyVaultClientOptions(
  vaultUrl: string,
  options: Pick<KeyVaultRaCredentialSourceOptions, 'maxRetries' | 'trustedCaPemForTests'> = {},
): CertificateClientOptions {
  // The SDK spreads tlsOptions into the options of its https.Agent, so minVersion reaches the TLS connection
  // although the SDK's TlsSettings type does not name it (test/integration/ra-credential/keyVaultTlsFloor).
  const tlsOptions: NonNullable<CertificateClientOptions['tlsOptions']> &
    Pick<ConnectionOptions, 'minVersion'> = {
    minVersion: 'TLSv1.2',
    ...(options.trustedCaPemForTests === undefined
      ? {}
      : { ca: [...rootCertificates, options.trustedCaPemForTests] }),
  };
  return {
    disableChallengeResourceVerification: isLoopbackVault(vaultUrl),
    ...(options.maxRetries === undefined ? {} : { retryOptions: { maxRetries: options.maxRetries } }),
    tlsOptions,
    userAgentOptions: { userAgentPrefix: 'digicert-pkcs-broker' },
  };
}

const NAME_PATTERN = /^[0-9A-Za-z-]{1,127}$/;

function validatedVaultUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BrokerError('RA_CERT_UNAVAILABLE', `KEY_VAULT_URL "${raw}" is not a URL.`, {
      remedy:
        "Set KEY_VAULT_URL to the vault URI shown on the vault's overview page, e.g. https://<name>.vault.azure.net",
    });
  }
  if (url.protocol !== 'https:' || url.pathname.replace(/\/$/, '') !== '' || url.search !== '') {
    throw new BrokerError(
      'RA_CERT_UNAVAILABLE',
      `KEY_VAULT_URL "${raw}" must be an https URL without path or query.`,
      { remedy: 'Set KEY_VAULT_URL to the vault URI, e.g. https://<name>.vault.azure.net' },
    );
  }
  return url.origin;
}

function readSecretMaterial(
  secret: KeyVaultSecret,
  policyContentType: string | undefined,
  location: RaLocation,
): RaKeyMaterial {
  const value = secret.value;
  if (value === undefined || value === '') {
    throw raCredentialFailure(
      location,
      'no private key: the secret behind the certificate is empty.',
      `Re-import the RA certificate with its private key as a new version of the certificate.`,
    );
  }
  const contentType = (secret.properties.contentType ?? policyContentType ?? '').toLowerCase();
  try {
    if (
      contentType === 'application/x-pem-file' ||
      (contentType !== 'application/x-pkcs12' && value.trimStart().startsWith('-----BEGIN'))
    ) {
      return readPem(value);
    }
    const der = Buffer.from(value, 'base64');
    return looksLikePem(der) ? readPem(der.toString('utf8')) : readPkcs12(der, undefined);
  } catch (error) {
    if (error instanceof MaterialReadError) {
      throw raCredentialFailure(
        location,
        `the secret (content type ${contentType || 'not set'}) could not be read: ${error.message}.`,
        'Re-import the RA certificate into Key Vault as a PFX with its private key (Key Vault then serves it as application/x-pkcs12 without a password).',
      );
    }
    throw error;
  }
}

export class KeyVaultRaCredentialSource implements RaCredentialSource {
  private readonly vaultUrl: string;
  private readonly certificateName: string;
  private readonly thumbprintPin: string[];
  private readonly now: () => Date;
  private readonly certificates: CertificateClient;
  private readonly secrets: SecretClient;
  private readonly onCall?: (call: KeyVaultCallReport) => void;

  /** Throws BrokerError RA_CERT_UNAVAILABLE when the vault URL or certificate name cannot be right. */
  constructor(options: KeyVaultRaCredentialSourceOptions) {
    this.vaultUrl = validatedVaultUrl(options.vaultUrl);
    if (!NAME_PATTERN.test(options.certificateName)) {
      throw new BrokerError(
        'RA_CERT_UNAVAILABLE',
        `RA_CERTIFICATE_NAME "${options.certificateName}" is not a valid Key Vault certificate name (1-127 letters, digits and dashes).`,
        { remedy: 'Set RA_CERTIFICATE_NAME to the name of the RA certificate in the vault.' },
      );
    }
    this.certificateName = options.certificateName;
    this.thumbprintPin = thumbprintPins(options.thumbprintPin);
    this.now = options.now ?? (() => new Date());
    this.onCall = options.onCall;
    const credential = options.credential ?? new DefaultAzureCredential();
    const clientOptions = keyVaultClientOptions(this.vaultUrl, options);
    this.certificates = new CertificateClient(this.vaultUrl, credential, clientOptions);
    this.secrets = new SecretClient(this.vaultUrl, credential, clientOptions);
  }

  async load(): Promise<RaCredential> {
    let location: RaLocation = {
      kind: 'key-vault',
      vaultUrl: this.vaultUrl,
      certificateName: this.certificateName,
    };
    let metadata: KeyVaultCertificateWithPolicy;
    try {
      metadata = await this.observed('getCertificate', () =>
        this.certificates.getCertificate(this.certificateName),
      );
    } catch (error) {
      throw keyVaultFailure(error, 'certificate', location);
    }
    const version = metadata.properties.version;
    location = { ...location, version };
    if (metadata.properties.enabled === false) {
      throw raCredentialFailure(
        location,
        'disabled: the current version of the certificate is disabled in Key Vault.',
        `Enable that version of "${this.certificateName}" in the vault, or import the RA certificate as a new, enabled version.`,
      );
    }
    if (metadata.cer === undefined || metadata.cer.length === 0) {
      throw raCredentialFailure(
        location,
        'holds no certificate yet (a pending certificate operation or an unmerged CSR).',
        `Complete the certificate in Key Vault: merge the RA certificate DigiCert issued ("Get an RA Cert") into "${this.certificateName}", or import it as a PFX with its private key.`,
      );
    }
    const certificate = new X509Certificate(Buffer.from(metadata.cer));
    const now = this.now();
    // Metadata first: a wrong, expired or non-client-auth certificate fails without reading the key at all.
    checkRaCertificate(certificate, { location, thumbprintPin: this.thumbprintPin, now });
    if (metadata.policy?.exportable === false) {
      throw raCredentialFailure(
        location,
        'no private key: the key policy is not exportable, so Key Vault never hands out the private key the broker needs for mutual TLS.',
        `Re-import the RA certificate's PFX as a new version of "${this.certificateName}" with an exportable key policy (key_props.exportable: true, e.g. az keyvault certificate import --policy with "exportable": true).`,
      );
    }
    let secret: KeyVaultSecret;
    try {
      // The very version the metadata came from, so certificate and key agree even mid-rotation.
      secret = await this.observed('getSecret', () =>
        this.secrets.getSecret(this.certificateName, { version }),
      );
    } catch (error) {
      throw keyVaultFailure(error, 'secret', location);
    }
    const material = readSecretMaterial(secret, metadata.policy?.contentType, location);
    return buildRaCredential(material, {
      location,
      certificate,
      thumbprintPin: this.thumbprintPin,
      now,
      missingKeyRemedy: `Import the RA certificate together with its private key (a PFX exported with "Yes, export the private key") as a new version of "${this.certificateName}", with an exportable key policy.`,
    });
  }

  private observed<T>(operation: KeyVaultCallReport['operation'], read: () => Promise<T>): Promise<T> {
    return observeKeyVaultCall(this.onCall, this.vaultUrl, operation, read);
  }
}

/** Runs one Key Vault read and tells `onCall` how it went (for telemetry); what onCall throws is ignored. */
export async function observeKeyVaultCall<T>(
  onCall: ((call: KeyVaultCallReport) => void) | undefined,
  vaultUrl: string,
  operation: KeyVaultCallReport['operation'],
  read: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const report = (success: boolean, code: string): void => {
    try {
      onCall?.({
        operation,
        vaultHost: new URL(vaultUrl).host,
        durationMs: performance.now() - started,
        success,
        code,
      });
    } catch {
      // Telemetry never changes the outcome of a read.
    }
  };
  try {
    const value = await read();
    report(true, '200');
    return value;
  } catch (error) {
    const status = field(error, 'statusCode');
    const code = field(error, 'code');
    report(false, typeof status === 'number' ? String(status) : typeof code === 'string' ? code : 'error');
    throw error;
  }
}

/**
 * What a failed Key Vault read means for the operator: denied, missing, transient or misconfigured, each as
 * RA_CERT_UNAVAILABLE with its remedy, and never with the SDK's request (its headers carry the access token).
 */
import type { BrokerError } from '../contract/errors';
import { raCredentialFailure, type RaLocation } from './checks';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'REQUEST_SEND_ERROR',
]);

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

// Certificate User's data actions include secrets/getSecret: it reads the certificate and its private key.
const ROLES_REMEDY =
  'grant the broker\'s managed identity the role "Key Vault Certificate User" on the vault (it reads the certificate and, through its secret, the private key; or, with access policies, Get on certificates and secrets)';

export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function firstLine(text: string, max = 400): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export interface KeyVaultErrorSummary {
  name: string;
  status?: number;
  code?: string;
  message: string;
}

/** What Key Vault's client error says, without the request (whose headers carry the access token). */
export function keyVaultErrorSummary(error: unknown): KeyVaultErrorSummary {
  const status = field(error, 'statusCode');
  const code = field(error, 'code');
  // A credential chain's own message says only "authentication failed"; the reasons are in `errors`.
  const inner = field(error, 'errors');
  const message = Array.isArray(inner)
    ? inner.map((each: unknown) => firstLine(each instanceof Error ? each.message : String(each))).join('; ')
    : firstLine(error instanceof Error ? error.message : String(error));
  return {
    name: typeof field(error, 'name') === 'string' ? (field(error, 'name') as string) : 'Error',
    status: typeof status === 'number' ? status : undefined,
    code: typeof code === 'string' ? code : undefined,
    message,
  };
}

/** 408, 429 or 5xx: Key Vault is there but cannot answer now. */
export function isKeyVaultThrottledOrDown(status: number | undefined): boolean {
  return status !== undefined && (status === 408 || status === 429 || status >= 500);
}

/** No HTTP answer at all: the network between the broker and the vault failed. */
export function isKeyVaultUnreachable(
  summary: Pick<KeyVaultErrorSummary, 'status' | 'code' | 'message'>,
): boolean {
  const { status, code, message } = summary;
  return (
    status === undefined &&
    ((code !== undefined && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR'))) ||
      /socket|network|timed? ?out/i.test(message))
  );
}

/** Whether a failed Key Vault call is worth retrying later (the request waits in the queue). */
export function isTransientKeyVaultError(summary: KeyVaultErrorSummary): boolean {
  return (
    isKeyVaultThrottledOrDown(summary.status) ||
    isKeyVaultUnreachable(summary) ||
    (CREDENTIAL_ERRORS.has(summary.name) && /network unreachable/i.test(summary.message))
  );
}

/** Turns a failed Key Vault call into RA_CERT_UNAVAILABLE: denied, missing, transient or misconfigured. */
export function keyVaultFailure(
  error: unknown,
  object: 'certificate' | 'secret',
  location: RaLocation,
): BrokerError {
  if (location.kind !== 'key-vault') throw new Error('keyVaultFailure needs a Key Vault location');
  const { status, code, name, message } = keyVaultErrorSummary(error);
  // Keep only a sanitised cause: the SDK error holds the request, including the bearer token.
  const cause = new Error(
    `${name}${status === undefined ? '' : ` ${status}`}${code === undefined ? '' : ` ${code}`}: ${message}`,
  );
  const what =
    object === 'certificate'
      ? `certificate "${location.certificateName}"`
      : `secret "${location.certificateName}" (the private key)`;
  const fail = (problem: string, remedy: string, retryable = false) =>
    raCredentialFailure(location, problem, remedy, { retryable, cause });

  if (CREDENTIAL_ERRORS.has(name)) {
    return fail(
      `Key Vault denied: no access token for https://vault.azure.net could be obtained from the managed identity (${name}: ${message}).`,
      `Turn on the Function App's managed identity (Identity > System assigned) and ${ROLES_REMEDY}. Locally, run the dev stack (IDENTITY_ENDPOINT and IDENTITY_HEADER point at the Key Vault stand-in) or use RA_CERTIFICATE_PFX_FILE.`,
      /network unreachable/i.test(message),
    );
  }
  if (status === 401) {
    return fail(
      `Key Vault denied reading the ${what}: 401 ${code ?? 'Unauthorized'} (${message}).`,
      `Make sure the access token comes from the managed identity of the vault's tenant, and ${ROLES_REMEDY}.`,
    );
  }
  if (status === 403) {
    const disabled = /disabled/i.test(message);
    return fail(
      `Key Vault denied reading the ${what}: 403 ${code ?? 'Forbidden'} (${message}).`,
      disabled
        ? `Enable the current version of "${location.certificateName}" in the vault, or import a new enabled version.`
        : object === 'secret'
          ? `The private key is read as the certificate's secret: grant the broker's managed identity "Key Vault Certificate User" (or "Key Vault Secrets User") on the vault; "Key Vault Certificates Officer" and "Key Vault Reader" cannot read it. With access policies: Get on secrets.`
          : `Grant the broker's managed identity "Key Vault Certificate User" on the vault (it covers the certificate and its private key), or with access policies Get on certificates and secrets.`,
    );
  }
  if (status === 404) {
    return object === 'certificate'
      ? fail(
          `missing: the vault has no certificate named "${location.certificateName}" (404 ${code ?? 'NotFound'}).`,
          `Import the DigiCert RA certificate (PFX with its private key, exportable key policy) into the vault under the name "${location.certificateName}", or set RA_CERTIFICATE_NAME to the name it has.`,
        )
      : fail(
          `missing: the certificate exists but its secret "${location.certificateName}"${location.version ? ` version ${location.version}` : ''} holding the private key was not found (404 ${code ?? 'NotFound'}).`,
          `Re-import the RA certificate with its private key as a new version of "${location.certificateName}" (Key Vault keeps the key material in the secret of the same name).`,
        );
  }
  if (isKeyVaultThrottledOrDown(status)) {
    return fail(
      `Key Vault is unavailable or throttling: ${[status, code].filter((part) => part !== undefined).join(' ')} while reading the ${what} (${message}).`,
      "Transient: the request is retried. If it persists, check the vault's health and request rate in the Azure portal.",
      true,
    );
  }
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return fail(
      `the TLS connection to Key Vault failed: ${code} (the vault's server certificate is not trusted).`,
      "Key Vault's server certificate must chain to a trusted root. Locally, start the process with NODE_EXTRA_CA_CERTS pointing at the dev TLS root of the Key Vault stand-in; TLS verification is never turned off.",
    );
  }
  if (isKeyVaultUnreachable({ status, code, message })) {
    return fail(
      `Key Vault could not be reached while reading the ${what}: ${code ?? name} (${message}).`,
      `Transient: the request is retried. If it persists, check KEY_VAULT_URL (${location.vaultUrl}) and the network path from the Function App to the vault (private endpoint, firewall, DNS).`,
      true,
    );
  }
  return fail(
    `reading the ${what} from Key Vault failed: ${name}${status === undefined ? '' : ` ${status}`}${code === undefined ? '' : ` ${code}`} (${message}).`,
    `Check KEY_VAULT_URL and RA_CERTIFICATE_NAME, and ${ROLES_REMEDY}.`,
  );
}

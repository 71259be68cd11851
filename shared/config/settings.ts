/**
 * The broker's settings, read once from the environment (Function App settings in Azure, local.settings or
 * the dev host locally). Names follow the contract; a bad value fails loudly at start, naming the setting.
 */

import { DEFAULT_CA_HOST, splitCaHostList } from '../contract/caHosts';
import { isDottedOid } from '../mapping/text';
import { parseSourceName, SOURCE_NAMES } from '../mapping/variables';
import { readStorageConnection, type StorageConnection } from '../storage/connection';
import { SettingsError } from './settingsError';

export type PfxEncryption = 'AES256' | '3DES';

export interface BrokerSettings {
  requestQueue: string;
  resultQueue: string;
  revokeQueue: string;
  /** PKCS_REVOKE_RESULT_QUEUE: one result per revocationId. */
  revokeResultQueue: string;
  /** AzureWebJobsStorage: a connection string, or identity-based (AzureWebJobsStorage__*). */
  storage?: StorageConnection;
  /** Table of the request ledger, in the AzureWebJobsStorage account. */
  ledgerTable: string;
  keyVaultUrl?: string;
  raCertificateName?: string;
  /**
   * RA_CERT_THUMBPRINT: SHA-1 thumbprints the RA certificate must have (comma-separated; two while rotating);
   * empty: no pin.
   */
  raCertThumbprints: string[];
  raCertificatePfxFile?: string;
  raCertificatePfxPassword?: string;
  caAllowedHosts: string[];
  caConnectTimeoutMs: number;
  caRequestTimeoutMs: number;
  caMaxAttempts: number;
  /** Delay before the 2nd attempt; doubles each attempt, with full jitter. */
  caRetryBaseDelayMs: number;
  /** Transient failures in a row of one CA host that open its circuit (calls then fail at once). */
  caCircuitFailures: number;
  /** How long an open circuit refuses calls before the CA's health operation is asked whether it is UP. */
  caCircuitHalfOpenMs: number;
  /** CA calls at a time per process (instance); further calls wait in a bounded queue. */
  caMaxConcurrency: number;
  /** CA_TLS_PINS: base64 SHA-256 SubjectPublicKeyInfo pins, one of which the CA's TLS chain must have; empty: none. */
  caTlsPins: string[];
  /** How long the RA credential is kept in memory before it is read again. */
  raCacheTtlMs: number;
  pfxEncryption: PfxEncryption;
  /** Variable name → source, for profiles whose variables are named differently (PROFILE_FIELD_MAP). */
  profileFieldMap: Record<string, string>;
  /** Whether telemetry may carry e-mail addresses and UPNs in clear (else they are hashed). */
  telemetryIncludePersonalData: boolean;
  appInsightsConnectionString?: string;
  maxDequeueCount: number;
  /**
   * REQUEST_MAX_WAIT_MINUTES: how long a request may wait out an unreachable CA or Key Vault. When the queue's
   * deliveries are used up sooner, the request goes back on the queue with a delay instead of ending GAVE_UP.
   * 0: no waiting beyond the queue's deliveries.
   */
  requestMaxWaitMinutes: number;
  /** LEDGER_RETENTION_DAYS: ledger entities not written for this long are deleted daily; 0 keeps them. */
  ledgerRetentionDays: number;
  /** REQUEST_DEFER_MIN_SECONDS: the shortest such delay (it grows with the request's age, up to 15 minutes). */
  requestDeferMinSeconds: number;
  /**
   * CA_LATE_ISSUE_WINDOW_SECONDS: how long after an enrollment whose answer was lost the CA may still issue
   * for it. Until then a search that finds nothing is not the last word: the request waits and asks again
   * rather than enroll a second certificate for the seat.
   */
  caLateIssueWindowSeconds: number;
  /**
   * PROFILE_OIDS: the DigiCert certificate profile OIDs in use (the doctor reads their policies); when set, a
   * request for another profile is REQUEST_NOT_ALLOWED.
   */
  profileOids: string[];
  /** ALLOWED_DOMAINS: e-mail/UPN domains requests may name (`*.example.com`: its subdomains); empty: any. */
  allowedDomains: string[];
  /**
   * MAX_CERTIFICATES_PER_SEAT_PER_DAY: certificates a DigiCert seat may be enrolled for in 24 h before a request
   * is REQUEST_NOT_ALLOWED (counted in the ledger; a repeat of an issued requestId does not count). 0: no limit.
   */
  maxCertificatesPerSeatPerDay: number;
  /**
   * SID_VERIFY_WITH_GRAPH: before a request with a securityIdentifier is enrolled, ask Microsoft Graph whether
   * that SID is the onPremisesSecurityIdentifier of the request's UPN (the app's managed identity needs the
   * application permission User.Read.All). Off by default.
   */
  sidVerifyWithGraph: boolean;
  /** GRAPH_BASE_URL: the Microsoft Graph endpoint (an origin: https, no path), for national clouds and tests. */
  graphBaseUrl: string;
  /**
   * KEY_POOL_SIZE: key pairs generated ahead per key size, so a burst's first certificates do not wait for
   * keygen (kept in memory only). 0: off, every key is generated when its request needs it.
   */
  keyPoolSize: number;
  /**
   * REQUEST_SIGNING_SECRET_NAME: the Key Vault secret (in KEY_VAULT_URL) whose versions are the keys requests
   * and revocations must be signed with. Unset: unsigned messages are accepted.
   */
  requestSigningSecretName?: string;
}

export { SettingsError };

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new SettingsError(name, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new SettingsError(name, `${value} is outside ${min}..${max}`);
  return value;
}

/** At least 8 days: a queue message lives up to 7, and a record must outlive every delivery of its message. */
function ledgerRetentionDays(env: Env): number {
  const days = integer(env, 'LEDGER_RETENTION_DAYS', 90, 0, 36500);
  if (days > 0 && days < 8) {
    throw new SettingsError(
      'LEDGER_RETENTION_DAYS',
      `${days} is too short: a request message lives up to 7 days, and its record must outlive it (use 8 or more, or 0 to keep everything)`,
    );
  }
  return days;
}

function flag(env: Env, name: string): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return false;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new SettingsError(name, `"${raw}" is not true or false`);
}

function profileOids(env: Env): string[] {
  const oids = (text(env, 'PROFILE_OIDS') ?? '')
    .split(',')
    .map((oid) => oid.trim())
    .filter((oid) => oid !== '');
  const invalid = oids.find((oid) => !isDottedOid(oid));
  if (invalid !== undefined) {
    throw new SettingsError(
      'PROFILE_OIDS',
      `"${invalid}" is not a certificate profile OID (comma-separated dotted OIDs, e.g. 2.16.840.1.113733.1.16.1.2.3.1.1.47196109)`,
    );
  }
  return [...new Set(oids)];
}

const DOMAIN_RULE =
  // eslint-disable-next-line security/detect-unsafe-regex -- linear: every repeated label starts with a literal dot, and the input is an operator's setting
  /^(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

function allowedDomains(env: Env): string[] {
  const domains = (text(env, 'ALLOWED_DOMAINS') ?? '')
    .split(',')
    .map((domain) => domain.trim().toLowerCase())
    .filter((domain) => domain !== '');
  const invalid = domains.find((domain) => !DOMAIN_RULE.test(domain));
  if (invalid !== undefined) {
    throw new SettingsError(
      'ALLOWED_DOMAINS',
      `"${invalid}" is not a domain (comma-separated, e.g. contoso.com,*.contoso.com; *. allows the subdomains)`,
    );
  }
  return [...new Set(domains)];
}

const MAX_SEAT_LIMIT = 100_000;

/** MAX_CERTIFICATES_PER_SEAT_PER_DAY: a whole number, 0 for no limit; the default guards the seat licences. */
function seatLimit(env: Env): number {
  const raw = text(env, 'MAX_CERTIFICATES_PER_SEAT_PER_DAY');
  if (raw === undefined) return 10;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value <= MAX_SEAT_LIMIT)) {
    throw new SettingsError(
      'MAX_CERTIFICATES_PER_SEAT_PER_DAY',
      `"${raw}" is not a whole number from 0 to ${MAX_SEAT_LIMIT} (certificates per DigiCert seat in 24 h; 0 for no limit)`,
    );
  }
  return value;
}

/** RA_CERT_THUMBPRINT: one or more SHA-1 thumbprints, comma-separated; spaces and colons (as copied) ignored. */
function thumbprints(env: Env): string[] {
  const raw = text(env, 'RA_CERT_THUMBPRINT');
  if (raw === undefined) return [];
  const pins = raw
    .split(/[,;]/)
    .map((pin) => pin.replace(/[\s:]/g, '').toUpperCase())
    .filter((pin) => pin !== '');
  const invalid = pins.find((pin) => !/^[0-9A-F]{40}$/.test(pin));
  if (invalid !== undefined || pins.length === 0) {
    throw new SettingsError(
      'RA_CERT_THUMBPRINT',
      `${invalid === undefined ? 'has no thumbprint' : `"${invalid}" is not a thumbprint`}: each must be 40 hexadecimal characters (the SHA-1 thumbprint); separate several with commas`,
    );
  }
  return [...new Set(pins)];
}

/** CA_TLS_PINS: comma-separated base64 SHA-256 digests of SubjectPublicKeyInfos (HPKP's pin-sha256). */
function tlsPins(env: Env): string[] {
  const pins = (text(env, 'CA_TLS_PINS') ?? '')
    .split(',')
    .map((pin) => pin.trim())
    .filter((pin) => pin !== '');
  const invalid = pins.find((pin) => !/^[A-Za-z0-9+/]{43}=$/.test(pin));
  if (invalid !== undefined) {
    throw new SettingsError(
      'CA_TLS_PINS',
      `"${invalid}" is not a pin: each is the base64 SHA-256 of a SubjectPublicKeyInfo, 44 characters ending in "=" (openssl x509 -in ca.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64); separate several with commas`,
    );
  }
  return [...new Set(pins)];
}

function fieldMap(env: Env): Record<string, string> {
  const raw = text(env, 'PROFILE_FIELD_MAP');
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SettingsError('PROFILE_FIELD_MAP', 'is not valid JSON (expected {"variable": "source", ...})');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SettingsError('PROFILE_FIELD_MAP', 'must be a JSON object of {"variable": "source"}');
  }
  const map: Record<string, string> = {};
  for (const [name, source] of Object.entries(parsed)) {
    if (typeof source !== 'string' || parseSourceName(source) === undefined) {
      throw new SettingsError(
        'PROFILE_FIELD_MAP',
        `"${name}" maps to ${JSON.stringify(source)}, which is not a source (use one of ${SOURCE_NAMES.join(', ')})`,
      );
    }
    map[name.replace(/^\$/, '')] = source;
  }
  return map;
}

/** GRAPH_BASE_URL: an https origin; a trailing slash is dropped. */
function graphBaseUrl(env: Env): string {
  const raw = text(env, 'GRAPH_BASE_URL');
  if (raw === undefined) return 'https://graph.microsoft.com';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError('GRAPH_BASE_URL', `"${raw}" is not a URL (e.g. https://graph.microsoft.com)`);
  }
  if (
    url.protocol !== 'https:' ||
    url.pathname.replace(/\/$/, '') !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new SettingsError(
      'GRAPH_BASE_URL',
      `"${raw}" must be an https URL without path or query (e.g. https://graph.microsoft.com; the broker adds /v1.0/…)`,
    );
  }
  return url.origin;
}

/** REQUEST_SIGNING_SECRET_NAME: a Key Vault secret name, in the vault of KEY_VAULT_URL. */
function requestSigningSecretName(env: Env): string | undefined {
  const name = text(env, 'REQUEST_SIGNING_SECRET_NAME');
  if (name === undefined) return undefined;
  if (!/^[0-9A-Za-z-]{1,127}$/.test(name)) {
    throw new SettingsError(
      'REQUEST_SIGNING_SECRET_NAME',
      `"${name}" is not a Key Vault secret name (1-127 letters, digits and dashes)`,
    );
  }
  if (text(env, 'KEY_VAULT_URL') === undefined) {
    throw new SettingsError(
      'REQUEST_SIGNING_SECRET_NAME',
      'needs KEY_VAULT_URL: the signing key is a secret in that vault. Set KEY_VAULT_URL, or clear REQUEST_SIGNING_SECRET_NAME to accept unsigned messages',
    );
  }
  return name;
}

export function readSettings(env: Env = process.env): BrokerSettings {
  const pfxEncryption = (text(env, 'PFX_ENCRYPTION') ?? 'AES256').toUpperCase();
  if (pfxEncryption !== 'AES256' && pfxEncryption !== '3DES') {
    throw new SettingsError('PFX_ENCRYPTION', `"${pfxEncryption}" is neither AES256 nor 3DES`);
  }
  const settings: BrokerSettings = {
    requestQueue: text(env, 'PKCS_REQUEST_QUEUE') ?? 'pkcs-requests',
    resultQueue: text(env, 'PKCS_RESULT_QUEUE') ?? 'pkcs-results',
    revokeQueue: text(env, 'PKCS_REVOKE_QUEUE') ?? 'pkcs-revocations',
    revokeResultQueue: text(env, 'PKCS_REVOKE_RESULT_QUEUE') ?? 'pkcs-revocation-results',
    storage: readStorageConnection(env),
    ledgerTable: text(env, 'LEDGER_TABLE') ?? 'pkcsrequests',
    keyVaultUrl: text(env, 'KEY_VAULT_URL'),
    raCertificateName: text(env, 'RA_CERTIFICATE_NAME'),
    raCertThumbprints: thumbprints(env),
    raCertificatePfxFile: text(env, 'RA_CERTIFICATE_PFX_FILE'),
    raCertificatePfxPassword: env.RA_CERTIFICATE_PFX_PASSWORD,
    caAllowedHosts: splitCaHostList(text(env, 'CA_ALLOWED_HOSTS') ?? DEFAULT_CA_HOST),
    caConnectTimeoutMs: integer(env, 'CA_CONNECT_TIMEOUT_MS', 10000, 100, 600000),
    caRequestTimeoutMs: integer(env, 'CA_REQUEST_TIMEOUT_MS', 30000, 100, 600000),
    caMaxAttempts: integer(env, 'CA_MAX_ATTEMPTS', 3, 1, 10),
    caRetryBaseDelayMs: integer(env, 'CA_RETRY_BASE_DELAY_MS', 500, 0, 60000),
    caCircuitFailures: integer(env, 'CA_CIRCUIT_FAILURES', 5, 1, 1000),
    caCircuitHalfOpenMs: integer(env, 'CA_CIRCUIT_HALF_OPEN_MS', 30000, 0, 3600000),
    caMaxConcurrency: integer(env, 'CA_MAX_CONCURRENCY', 8, 1, 1000),
    caTlsPins: tlsPins(env),
    raCacheTtlMs: integer(env, 'RA_CACHE_TTL_MS', 3600000, 0, 86400000),
    pfxEncryption,
    profileFieldMap: fieldMap(env),
    telemetryIncludePersonalData: flag(env, 'TELEMETRY_INCLUDE_PERSONAL_DATA'),
    appInsightsConnectionString: text(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING'),
    maxDequeueCount: integer(env, 'QUEUE_MAX_DEQUEUE_COUNT', 5, 1, 100),
    // A message lives 7 days on the queue: a request cannot wait longer than that.
    requestMaxWaitMinutes: integer(env, 'REQUEST_MAX_WAIT_MINUTES', 240, 0, 7 * 24 * 60 - 60),
    requestDeferMinSeconds: integer(env, 'REQUEST_DEFER_MIN_SECONDS', 60, 1, 900),
    caLateIssueWindowSeconds: integer(env, 'CA_LATE_ISSUE_WINDOW_SECONDS', 120, 0, 3600),
    ledgerRetentionDays: ledgerRetentionDays(env),
    profileOids: profileOids(env),
    allowedDomains: allowedDomains(env),
    maxCertificatesPerSeatPerDay: seatLimit(env),
    sidVerifyWithGraph: flag(env, 'SID_VERIFY_WITH_GRAPH'),
    graphBaseUrl: graphBaseUrl(env),
    keyPoolSize: integer(env, 'KEY_POOL_SIZE', 0, 0, 256),
    requestSigningSecretName: requestSigningSecretName(env),
  };
  return settings;
}

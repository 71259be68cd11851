/**
 * The broker's one error type. Every failure a request can meet ends as a BrokerError carrying a code from
 * the contract (docs: README "Error codes"), a message that names the field or attribute, and a remedy the
 * administrator can act on. Transport and SOAP faults are classified into these codes once, in
 * shared/digicert; nothing above it looks at HTTP statuses or fault strings.
 */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'CA_NOT_ALLOWED',
  'CA_NAME_INVALID',
  'TEMPLATE_INVALID',
  'RECIPIENT_INVALID',
  'RA_CERT_UNAVAILABLE',
  'CA_TLS_FAILED',
  'CA_TIMEOUT',
  'CA_UNAVAILABLE',
  'PROFILE_NOT_FOUND',
  'POLICY_MISMATCH',
  'SAN_VALUE_MISSING',
  'OTHERNAME_INVALID',
  'NAME_CHARACTERS_UNSUPPORTED',
  'CA_REJECTED',
  'GAVE_UP',
  'REQUEST_NOT_ALLOWED',
  'CERTIFICATE_NOT_FOUND',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Default remedies, one per code: the seed's troubleshooting table turned into what our admins change. */
export const DEFAULT_REMEDIES: Record<ErrorCode, string> = {
  INVALID_REQUEST: 'Fix the named field in the request message so that it follows the request schema (v1).',
  CA_NOT_ALLOWED:
    'Set the Intune profile\'s certification authority to the bare DigiCert FQDN (e.g. "pki-ws.symauth.com": no scheme, no path, no trailing slash) and make sure it is listed in CA_ALLOWED_HOSTS.',
  CA_NAME_INVALID:
    'Set the certification authority name in the Intune PKCS profile to the string "Symantec".',
  TEMPLATE_INVALID:
    'Set the certificate template name in the Intune PKCS profile to the DigiCert certificate profile OID (dotted decimal, e.g. 2.16.840.1.113733.1.16.1.2.3.1.1.47196109), copied from "Manage Certificate Profiles" in the DigiCert portal.',
  RECIPIENT_INVALID:
    'Send a valid, unexpired RSA certificate (PEM or base64 DER) in recipientCertificate: the PFX password is encrypted to its public key.',
  RA_CERT_UNAVAILABLE:
    'Import the DigiCert RA certificate with its private key (exportable, client-authentication EKU) into Key Vault under RA_CERTIFICATE_NAME, grant the broker\'s managed identity "Key Vault Certificate User" on the vault (it reads the certificate and its private key), and check RA_CERT_THUMBPRINT matches it (no spaces).',
  CA_TLS_FAILED:
    "Check that the CA FQDN is the one DigiCert gave for your account (ask DigiCert support if unsure), that the RA certificate and its private key are the ones DigiCert issued for this account, and that the CA's server certificate chains to a trusted root.",
  CA_TIMEOUT:
    "The DigiCert CA did not answer in time. If this keeps happening, raise CA_CONNECT_TIMEOUT_MS (the connector's CloudCAConnTimeoutInMilliseconds) or CA_REQUEST_TIMEOUT_MS; contact DigiCert support if it persists.",
  CA_UNAVAILABLE:
    'The DigiCert CA could not be reached or reported itself down. The request is retried; check the CA status and the network path to it, and contact DigiCert support if it persists.',
  PROFILE_NOT_FOUND:
    'The DigiCert CA does not know this certificate profile OID. Copy the correct OID from "Manage Certificate Profiles" in the DigiCert portal and update the certificate template name in the Intune PKCS profile.',
  POLICY_MISMATCH:
    'Make the Intune PKCS profile and the DigiCert certificate profile agree: use only CN, CN + E, or CN as e-mail in the subject, only e-mail, UPN and otherName in the SAN, and fix every other attribute to a constant value in the DigiCert profile (or map a differently named field with PROFILE_FIELD_MAP).',
  SAN_VALUE_MISSING:
    "Add the missing value to the Intune profile's subject alternative name (e-mail, UPN, or the otherName the DigiCert profile requires), or make sure the user has an e-mail address or UPN.",
  OTHERNAME_INVALID:
    'Send the otherName value as hexadecimal of its DER encoding (e.g. "04 12 b8 ba ..." for an objectGUID OCTET STRING); spaces and colons between bytes are allowed.',
  NAME_CHARACTERS_UNSUPPORTED:
    'DigiCert refuses special characters such as "_" in mail_firstname and mail_lastname. In the DigiCert portal, open the certificate profile, Customize options > Advanced options, and under Certificate fields - subject DN add the Common Name (CN) field and remove the existing Common Name (CN) field in the same edit, then save: the profile then asks for "CN=<upn>" instead of mail_firstname and mail_lastname.',
  CA_REJECTED:
    'The DigiCert CA refused the request; its own words are in caMessage. Correct what it names in the DigiCert profile or the Intune profile.',
  GAVE_UP:
    'The request kept failing with a transient error through every retry; fix the cause named in the message, then submit the request again with a new requestId (this requestId keeps this result: sending it again returns it again).',
  REQUEST_NOT_ALLOWED:
    'A guardrail of the broker refused the request; the message says which. Change the request, or the setting the message names if the request should be allowed.',
  CERTIFICATE_NOT_FOUND:
    'Check the serial number (hexadecimal, as in the issued result or the DigiCert portal) and the CA host, or the requestId: it must name a request this broker issued a certificate for.',
};

export interface BrokerErrorOptions {
  remedy?: string;
  retryable?: boolean;
  caMessage?: string;
  cause?: unknown;
  /**
   * The request may have reached the CA and been carried out although no answer came back (a timeout or a
   * reset after the enrollment was sent): the CA has to be asked before anything is sent again.
   */
  ambiguous?: boolean;
  /** What the code handling the error needs beyond its code (see BrokerErrorDetail); never serialised. */
  detail?: BrokerErrorDetail;
}

/**
 * Facts about a failure that decide how the broker handles it, not what it reports: they stay inside the
 * process (never in a result, a log line or telemetry), so the contract's texts do not depend on them.
 */
export interface BrokerErrorDetail {
  /**
   * The RA certificate did not work, so a kept credential should be read again: the CA said so (a TLS alert,
   * HTTP 401/403), our own key could not be used for TLS, or the CA hung up without a byte of answer (inferred:
   * also what a CA failing mid-request looks like).
   */
  raRejection?: 'refused' | 'unusable' | 'inferred';
  /** The delay the CA asked for with Retry-After (429/503) on the answer that produced the error. */
  retryAfterMs?: number;
  /** A resilience policy ended the call without it reaching the CA, or the half-open health check said DOWN. */
  refusedBy?: 'circuit' | 'bulkhead' | 'healthCheck';
  /** Not a condition the broker knows (an unexpected exception, a ledger conflict): retried, not waited out. */
  unforeseen?: boolean;
  /**
   * Another delivery of the same message is at work on its ledger record (waiting for the CA): this delivery
   * must not write the record, or that delivery's own writes would conflict and its certificate be lost.
   */
  anotherDeliveryAtWork?: boolean;
  /**
   * The message could not be shown to come from the holder of the request-signing key: its result names no
   * id and echoes no context, so that nobody can put a result under a real id (the id is in the text).
   */
  unauthenticated?: boolean;
}

/** Codes that describe a condition that may pass by itself (retried before they are reported). */
const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['CA_TIMEOUT', 'CA_UNAVAILABLE']);

/**
 * Longest message, remedy or caMessage a result carries. A queue message holds at most 64 KiB; a CA that echoes
 * an oversized value back (a 60,000-character CN, say) must not make the result unpublishable, which would leave
 * the requester with no result at all.
 */
export const MAX_RESULT_TEXT_CHARS = 2000;

/** Cuts `text` to `max` characters (never inside a surrogate pair), saying how much was cut. */
export function boundedText(text: string, max: number = MAX_RESULT_TEXT_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}… (${text.length - end} more characters cut)`;
}

/** The `error` object of a failed result (requests and revocations alike), each text bounded. */
export function resultErrorOf(error: BrokerError): {
  code: ErrorCode;
  message: string;
  remedy: string;
  retryable: boolean;
  caMessage?: string;
} {
  return {
    code: error.code,
    message: boundedText(error.message),
    remedy: boundedText(error.remedy),
    retryable: error.retryable,
    ...(error.caMessage === undefined ? {} : { caMessage: boundedText(error.caMessage) }),
  };
}

export class BrokerError extends Error {
  readonly code: ErrorCode;
  readonly remedy: string;
  readonly retryable: boolean;
  readonly caMessage?: string;
  readonly ambiguous: boolean;
  // A private field: not enumerable, so JSON.stringify, util.inspect and spreads never see it.
  readonly #detail?: Readonly<BrokerErrorDetail>;

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.remedy = options.remedy ?? DEFAULT_REMEDIES[code];
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.ambiguous = options.ambiguous ?? false;
    if (options.caMessage !== undefined) this.caMessage = options.caMessage;
    if (options.detail !== undefined) this.#detail = Object.freeze({ ...options.detail });
  }

  get detail(): Readonly<BrokerErrorDetail> | undefined {
    return this.#detail;
  }
}

export function isBrokerError(value: unknown): value is BrokerError {
  return value instanceof BrokerError;
}

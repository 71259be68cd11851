/**
 * Classification of everything that can go wrong talking to the CA into the contract's error codes. This is
 * the only module that looks at network error codes, HTTP statuses and fault strings; everything above it
 * sees BrokerError only. Messages name the operation and the host; the CA's own words go to `caMessage`.
 */
import {
  BrokerError,
  BrokerErrorDetail,
  BrokerErrorOptions,
  DEFAULT_REMEDIES,
  ErrorCode,
} from '../contract/errors';
import { PkiWsService, SoapAnswer, SoapFault, SoapParseError, parseSoapAnswer } from './soap';

export interface CallContext {
  /** The PKI-WS operation: getPolicies, requestSecurityToken, getStatus, … */
  operation: string;
  /** The CA host as the request named it (host or host:port). */
  caHost: string;
  service: PkiWsService;
  /** The certificate profile the call is about, when there is one (for messages). */
  profileOid?: string;
}

/** What one attempt came to: the parsed SOAP answer, or an error (the delay a 429/503 asked for in its detail). */
export type AttemptOutcome = { ok: true; answer: SoapAnswer } | { ok: false; error: BrokerError };

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bodyText: string;
}

function describe(context: CallContext): string {
  return `DigiCert ${context.operation} at ${context.caHost}`;
}

function error(
  code: ErrorCode,
  context: CallContext,
  problem: string,
  options: BrokerErrorOptions = {},
): BrokerError {
  return new BrokerError(code, `${describe(context)} failed: ${problem}`, options);
}

// ---------------------------------------------------------------------------------------------------------
// Before any network

export function notAllowedError(caHost: string, reason: string): BrokerError {
  return new BrokerError('CA_NOT_ALLOWED', `certificateAuthority "${caHost}" ${reason}`);
}

export function credentialError(cause: unknown): BrokerError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BrokerError('RA_CERT_UNAVAILABLE', `the RA certificate could not be loaded: ${detail}`, {
    retryable: true,
    cause,
  });
}

export function transactionIdError(context: CallContext, length: number): BrokerError {
  return error(
    'INVALID_REQUEST',
    context,
    `clientTransactionID is ${length} characters long; PKI-WS accepts at most 40`,
    {
      remedy: 'Use a request identifier of at most 40 characters (a UUID fits).',
    },
  );
}

export function unsendableValueError(context: CallContext, field: string, problem: string): BrokerError {
  return error('INVALID_REQUEST', context, `${field} cannot be sent to the CA: ${problem}`, {
    remedy: `Remove the character from ${field} in the request or the user's directory data.`,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Network and TLS errors

const SERVER_CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'UNABLE_TO_GET_CRL',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

const NAME_MISMATCH_ERRORS = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

// Alerts a server sends when it does not accept the client certificate.
const CLIENT_CERTIFICATE_ALERT =
  /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(?:BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|HANDSHAKE_FAILURE|DECRYPT_ERROR)$/;

const TIMEOUT_ERRORS = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

interface ErrorFacts {
  code?: string;
  name?: string;
  message: string;
  bytesRead?: number;
}

function factsOf(value: unknown): ErrorFacts {
  // Look through AggregateError (several addresses tried) and `cause` chains for the first coded error.
  let current: unknown = value;
  for (let depth = 0; depth < 5; depth += 1) {
    if (typeof current !== 'object' || current === null) break;
    const record = current as { code?: unknown; cause?: unknown; errors?: unknown };
    if (record.code === undefined && Array.isArray(record.errors) && record.errors.length > 0) {
      current = record.errors[0];
      continue;
    }
    if (typeof record.code === 'string' || record.cause === undefined) break;
    current = record.cause;
  }
  // Not `instanceof Error`: DOMException (AbortSignal.timeout) is not an Error in every realm.
  if (typeof current !== 'object' || current === null) return { message: String(current) };
  const record = current as { name?: unknown; message?: unknown; code?: unknown; socket?: unknown };
  const facts: ErrorFacts = {
    message: typeof record.message === 'string' ? record.message : String(current),
  };
  if (typeof record.name === 'string') facts.name = record.name;
  if (typeof record.code === 'string') facts.code = record.code;
  const socket = record.socket;
  if (typeof socket === 'object' && socket !== null) {
    const bytesRead = (socket as { bytesRead?: unknown }).bytesRead;
    if (typeof bytesRead === 'number') facts.bytesRead = bytesRead;
  }
  return facts;
}

function quote(facts: ErrorFacts): string {
  return facts.code === undefined ? facts.message : `${facts.code}: ${facts.message}`;
}

/**
 * Errors that mean the RA credential did not work — the CA refused it, or it could not be used at all — so a
 * kept credential should be read again.
 */
export function isRaCertificateRejection(error: BrokerError): boolean {
  return error.detail?.raRejection !== undefined;
}

/**
 * A rejection inferred from the CA hanging up without a byte of answer (no TLS alert, no HTTP 401/403): the
 * usual sign of a TLS 1.3 server refusing the client certificate, but also what a CA failing mid-request
 * looks like.
 */
export function isInferredRaRejection(error: BrokerError): boolean {
  return error.detail?.raRejection === 'inferred';
}

const RA_REJECTED_REMEDY =
  'DigiCert did not accept the RA certificate. Make sure the broker uses the RA certificate DigiCert issued for this account (RA_CERTIFICATE_NAME, or RA_CERT_THUMBPRINT if pinned) with its private key, that it has the client-authentication EKU and is neither expired nor revoked, and that CA_ALLOWED_HOSTS names the DigiCert host of that account.';

export interface TransportFailure {
  /** The attempt was cut by the per-attempt timeout (its AbortSignal fired). */
  attemptTimedOut: boolean;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Turns an exception thrown while connecting, sending or reading into a BrokerError. */
export function classifyTransportError(
  cause: unknown,
  context: CallContext,
  failure: TransportFailure,
): BrokerError {
  if (cause instanceof BrokerError) return cause;
  const facts = factsOf(cause);
  const code = facts.code ?? '';

  if (NAME_MISMATCH_ERRORS.has(code)) {
    return error(
      'CA_TLS_FAILED',
      context,
      `the CA's server certificate is not issued for "${context.caHost}" — wrong FQDN? (${quote(facts)})`,
      {
        remedy: `Set the certification authority to the exact DigiCert FQDN of your account (such as pki-ws.symauth.com): the certificate the server at ${context.caHost} presented does not name it.`,
        cause,
      },
    );
  }
  if (SERVER_CERTIFICATE_ERRORS.has(code)) {
    return error('CA_TLS_FAILED', context, `the CA's server certificate is not trusted (${quote(facts)})`, {
      remedy: `Check that ${context.caHost} is the DigiCert FQDN of your account and that its certificate chains to a root this host trusts; nothing between the broker and DigiCert may intercept TLS.`,
      cause,
    });
  }
  if (CLIENT_CERTIFICATE_ALERT.test(code)) {
    return error('CA_TLS_FAILED', context, `the CA rejected the RA certificate (${quote(facts)})`, {
      remedy: RA_REJECTED_REMEDY,
      cause,
      detail: { raRejection: 'refused' },
    });
  }
  if (
    /before secure TLS connection was established/i.test(facts.message) ||
    (code === 'UND_ERR_SOCKET' && facts.bytesRead === 0 && !failure.attemptTimedOut)
  ) {
    // TLS 1.3 servers verify the client certificate after the client considers the handshake done; a
    // rejection then shows as the server hanging up before a single byte of answer.
    const stated = /before secure TLS connection was established/i.test(facts.message);
    return error(
      'CA_TLS_FAILED',
      context,
      `the CA closed the connection during the TLS handshake without answering: the RA certificate was most likely rejected (${quote(facts)})`,
      { remedy: RA_REJECTED_REMEDY, cause, detail: { raRejection: stated ? 'refused' : 'inferred' } },
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return error('CA_TLS_FAILED', context, `the TLS handshake failed (${quote(facts)})`, { cause });
  }
  if (code.startsWith('ERR_OSSL_')) {
    // Raised while building the TLS context from our own credential (key not matching the certificate, a
    // key that cannot be decoded): read it again, it may have been replaced.
    return new BrokerError(
      'RA_CERT_UNAVAILABLE',
      `${describe(context)} failed: the RA certificate or its private key cannot be used for TLS (${code})`,
      { retryable: false, cause, detail: { raRejection: 'unusable' } },
    );
  }
  if (failure.attemptTimedOut || facts.name === 'TimeoutError') {
    return error(
      'CA_TIMEOUT',
      context,
      `no complete answer within ${failure.requestTimeoutMs} ms (CA_REQUEST_TIMEOUT_MS)`,
      { cause },
    );
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return error(
      'CA_TIMEOUT',
      context,
      `no connection within ${failure.connectTimeoutMs} ms (CA_CONNECT_TIMEOUT_MS)`,
      { cause },
    );
  }
  if (TIMEOUT_ERRORS.has(code)) {
    return error('CA_TIMEOUT', context, `the CA did not answer in time (${quote(facts)})`, { cause });
  }
  if (code === 'ENOTFOUND') {
    return error(
      'CA_UNAVAILABLE',
      context,
      `DNS does not know the host name "${context.caHost}" (${quote(facts)}); check the FQDN`,
      { cause },
    );
  }
  if (code === 'ECONNREFUSED') {
    return error('CA_UNAVAILABLE', context, `the connection was refused (${quote(facts)})`, { cause });
  }
  if (CONNECTION_ERRORS.has(code)) {
    return error('CA_UNAVAILABLE', context, `the connection broke (${quote(facts)})`, { cause });
  }
  return error('CA_UNAVAILABLE', context, `the request could not be completed (${quote(facts)})`, { cause });
}

export function responseTooLargeError(context: CallContext, limitBytes: number): BrokerError {
  return error('CA_REJECTED', context, `the answer is larger than ${limitBytes} bytes`, {
    caMessage: `answer larger than ${limitBytes} bytes`,
  });
}

// ---------------------------------------------------------------------------------------------------------
// HTTP answers and SOAP faults

/** Retry-After as delay-seconds or an HTTP date, in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function caWords(fault: SoapFault): string {
  const parts = [fault.faultString];
  if (fault.detailMessage !== undefined && fault.detailMessage !== fault.faultString) {
    parts.push(fault.detailMessage);
  } else if (fault.detailMessage === undefined && fault.detailText !== '') {
    parts.push(fault.detailText);
  }
  const words = parts.filter((part) => part !== '').join(' — ');
  const withCode = fault.errorCode === undefined ? words : `${words} (errorcode ${fault.errorCode})`;
  return withCode === '' ? `SOAP fault ${fault.code}` : withCode;
}

// Each part of a fault (faultstring, detail message, whole detail, errorcode) is matched on its own: '.' never
// crosses the newlines they are joined with (OIDs contain dots, so sentences are not a usable boundary).
// The classes are tried from the most specific to the most generic, because CAs put a generic faultstring
// ("A request element was not understood.") in front of a detail that says what is really wrong.

/** A first or last name, as a field name (mail_firstName, "mail firstName", first_name) or in words. */
const NAME_FIELD =
  /\bmail[_ ]?(?:first|last)[_ ]?name\b|\b(?:first|last|given|sur|family)[_ ]?name\b|\bvoornaam\b|\bachternaam\b/i;
/** Words that complain about characters, when a name field is named in the same part. ("not supported" alone
 * is left out: "attribute mail_firstName is not supported" means the profile lacks the field.) */
const CHARACTER_COMPLAINT =
  /charact|special|symbol|underscore|invalid|illegal|\bcontains?\b(?!\s+no\b)(?!\s+(?:an?\s+)?empty\b)|\btekens\b/i;
/** A complaint about characters that stands on its own, without a field named. */
const CHARACTER_PROBLEM =
  /\b(?:special|invalid|illegal|unsupported|forbidden|disallowed)\s+characters?\b|\bcharacters?\b.{0,60}?\b(?:not (?:allowed|supported|permitted|accepted)|invalid|illegal|unsupported|forbidden)\b|\b(?:speciale|ongeldige)\s+tekens\b/i;

/** Names of the profile's subject and SAN attributes, spelled as PKI-WS and Intune spell them. */
const KNOWN_ATTRIBUTE =
  /\b(?:rfc822Name|otherName\w*|dNSName|userPrincipalName|upn|common[_ ]?name|cn|e-?mail(?:[_ ]?address)?|seat[_ ]?id|subject(?:[_ ]?alt(?:ernative)?[_ ]?names?|[_ ]?names?|[_ ]?dn)?|subjectAltName|san)\b/i;
/** A word that says the fault is about an attribute, a field or a name/value pair ("value" alone is weaker). */
const ATTRIBUTE_WORD =
  /\b(?:attributes?|fields?|name[_ ]?value[_ ]?pairs?|parameters?|variables?|kenmerk(?:en)?|veld(?:en)?)\b|\$[A-Za-z_]\w*/i;
const VALUE_WORD = /\b(?:values?|waarden?)\b/i;
/** A variable-like identifier such as mail_email or common_name (not an all-capitals error constant). */
const IDENTIFIER = /\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]\b/g;
/** What can be wrong with an attribute. */
const ATTRIBUTE_PROBLEM =
  /\bmissing\b|\brequired?\b|\brequires\b|\bmandatory\b|\bnot (?:been )?(?:found|provided|supplied|present|given|specified|set|sent|included|in the list)\b|\b(?:cannot|can ?not|must not|may not|should not) be (?:empty|blank|null|omitted)\b|\b(?:is|was|are|were) (?:empty|blank|null)\b|\bnot (?:supported|allowed|permitted|accepted|recogni[sz]ed|expected)\b|\bunsupported\b|\bunknown\b|\bunexpected\b|\binvalid\b|\bnot (?:a )?valid\b|\bdoes not match\b|\bmismatch|\bcharacters?\b|\bontbreekt\b|\bverplicht\b|\bniet (?:ondersteund|toegestaan)\b/i;

/** The profile's identifier: "profile OID", "certificateProfileID", "policy ID", "template OID". */
const PROFILE_REFERENCE = /(?:profile|policy|template)[_ -]?(?:oid|id|identifier)\b/i;
const REFERENCE_PROBLEM =
  /not valid|invalid|unknown|not found|does not exist|doesn't exist|not exist|not recogni[sz]ed|unrecogni[sz]ed|no such/i;
const PROFILE_UNKNOWN = [
  /\b(?:profile|policy|template)\b.{0,120}?\b(?:oid|id)\b.{0,120}?(?:not valid|invalid|unknown|not found|does not exist|doesn't exist|not exist|not recogni[sz]ed)/i,
  /\b(?:unknown|invalid|no such|unrecogni[sz]ed)\s+(?:certificate\s*)?(?:profile|policy|template)/i,
  /\bno (?:certificate )?(?:profile|policy|policies|template)\b.{0,80}?\b(?:found|exists?|available|defined|configured)\b/i,
  /\bno (?:certificate )?(?:profile|policy|template)\b.{0,40}?\b(?:for|with|matching)\b.{0,40}?\b(?:oid|id)\b/i,
  /\b(?:profile|policy|template)\b.{0,120}?(?:not found|does not exist|doesn't exist|unknown|not recogni[sz]ed)/i,
];
const POLICY_VERIFICATION = [
  /not in the list of.{0,80}?supported attributes/i,
  /niet op de lijst.{0,80}?ondersteunde kenmerken/i,
  /\bpolicy verification\b/i,
  /\bverification of (?:the )?policy\b/i,
  /\bverificatie van (?:het )?beleid\b/i,
  /\bmandatory\b/i,
  /\bmissing\b/i,
  /\brequired attribute\b/i,
  /\battribute\b.{0,80}?\bnot (?:supported|allowed|permitted)\b/i,
];
/** The generic words of the seed's "A request element was not understood" (in English and in Dutch). */
const NOT_UNDERSTOOD = /not understood|niet begrepen/i;
const TRANSIENT = /temporar|try again|retry later|\bbusy\b|unavailable|overload|maintenance|timed? ?out/i;

function hasVariableName(part: string): boolean {
  return [...part.matchAll(IDENTIFIER)].some(([identifier]) => /[a-z]/.test(identifier));
}

function namesAttribute(part: string): boolean {
  return ATTRIBUTE_WORD.test(part) || KNOWN_ATTRIBUTE.test(part) || hasVariableName(part);
}

function attributeProblem(part: string): boolean {
  return namesAttribute(part) && ATTRIBUTE_PROBLEM.test(part);
}

function profileReferenceProblem(part: string): boolean {
  return PROFILE_REFERENCE.test(part) && REFERENCE_PROBLEM.test(part);
}

/** Names a field other than a first or last name (a character problem there is not the seed's one). */
function namesOtherField(part: string): boolean {
  return KNOWN_ATTRIBUTE.test(part) || hasVariableName(part.replace(new RegExp(NAME_FIELD.source, 'gi'), ''));
}

type FaultClass = 'NAME_CHARACTERS_UNSUPPORTED' | 'POLICY_MISMATCH' | 'PROFILE_NOT_FOUND' | 'OTHER';

/** Which kind of refusal the fault's words describe, the most specific kind first. */
function classifyFaultWords(parts: readonly string[]): FaultClass {
  const texts = parts.filter((part) => part.trim() !== '');
  const all = texts.join(' \n ');
  // A first/last name with a complaint about characters, or a complaint about characters naming no other
  // field: the seed's only known character problem is mail_firstname/mail_lastname.
  if (texts.some((part) => NAME_FIELD.test(part) && CHARACTER_COMPLAINT.test(part))) {
    return 'NAME_CHARACTERS_UNSUPPORTED';
  }
  if (
    CHARACTER_PROBLEM.test(all) &&
    (NAME_FIELD.test(all) || !texts.some((part) => CHARACTER_PROBLEM.test(part) && namesOtherField(part)))
  ) {
    return 'NAME_CHARACTERS_UNSUPPORTED';
  }
  // A part that names an attribute, a field or a name/value pair and says what is wrong with it wins over
  // everything generic, including a "profile … not found" around it. Then a part that says the profile's
  // identifier is wrong; then a part about a value ("Invalid value for certificateProfileID" is the profile).
  if (texts.some(attributeProblem)) return 'POLICY_MISMATCH';
  if (texts.some(profileReferenceProblem)) return 'PROFILE_NOT_FOUND';
  if (texts.some((part) => VALUE_WORD.test(part) && ATTRIBUTE_PROBLEM.test(part))) return 'POLICY_MISMATCH';
  if (PROFILE_UNKNOWN.some((pattern) => pattern.test(all))) return 'PROFILE_NOT_FOUND';
  if (POLICY_VERIFICATION.some((pattern) => pattern.test(all))) return 'POLICY_MISMATCH';
  if (NOT_UNDERSTOOD.test(all)) return 'PROFILE_NOT_FOUND';
  return 'OTHER';
}

/** Classifies a SOAP fault by its code and words; `detail` (the answer's Retry-After) goes on the error. */
export function classifyFault(
  fault: SoapFault,
  context: CallContext,
  detail?: BrokerErrorDetail,
): BrokerError {
  const caMessage = caWords(fault);
  const parts = [fault.faultString, fault.detailMessage ?? '', fault.detailText, fault.errorCode ?? ''];
  const quoted = `"${caMessage}"`;

  switch (classifyFaultWords(parts)) {
    case 'NAME_CHARACTERS_UNSUPPORTED':
      return error(
        'NAME_CHARACTERS_UNSUPPORTED',
        context,
        `the CA refuses the characters of a first or last name (mail_firstname/mail_lastname): ${quoted}`,
        { caMessage, detail },
      );
    case 'PROFILE_NOT_FOUND': {
      const profile =
        context.profileOid === undefined ? 'the certificate profile' : `profile ${context.profileOid}`;
      return error('PROFILE_NOT_FOUND', context, `the CA does not know ${profile}: ${quoted}`, {
        caMessage,
        detail,
      });
    }
    case 'POLICY_MISMATCH':
      return error(
        'POLICY_MISMATCH',
        context,
        `the CA's policy verification refused the request's attributes: ${quoted}`,
        { caMessage, detail },
      );
    case 'OTHER':
      break;
  }
  const serverSide = ['server', 'receiver'].includes(fault.codeLocalName.toLowerCase());
  if (serverSide && TRANSIENT.test(parts.join(' \n '))) {
    return error('CA_UNAVAILABLE', context, `the CA is temporarily unable to serve: ${quoted}`, {
      caMessage,
      retryable: true,
      detail,
    });
  }
  return error('CA_REJECTED', context, `the CA refused the request: ${quoted}`, { caMessage, detail });
}

function snippet(text: string): string {
  const collapsed = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return collapsed.length > 200 ? `${collapsed.slice(0, 200)}…` : collapsed;
}

/** Statuses by which the CA (or the gateway in front of it) refuses a request it did not carry out. */
const NOT_CARRIED_OUT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503]);

export interface AnswerOptions {
  /**
   * False for a request that must not be repeated blindly (enrollment): a 5xx without a SOAP fault other than
   * 502/503 then leaves open whether the CA did the work, and becomes an ambiguous error.
   */
  idempotent?: boolean;
}

/** Classifies one HTTP answer: a SOAP answer to hand on, or an error (with the CA's Retry-After, if any). */
export function interpretHttpAnswer(
  http: HttpAnswer,
  context: CallContext,
  nowMs: number,
  options: AnswerOptions = {},
): AttemptOutcome {
  let answer: SoapAnswer | undefined;
  let parseProblem: string | undefined;
  if (http.bodyText.trim() === '') {
    parseProblem = 'the answer is empty';
  } else {
    try {
      answer = parseSoapAnswer(http.bodyText);
    } catch (cause) {
      parseProblem = cause instanceof SoapParseError ? cause.message : String(cause);
    }
  }
  const retryAfterMs =
    http.status === 429 || http.status === 503
      ? parseRetryAfter(http.headers['retry-after'], nowMs)
      : undefined;
  const detail = retryAfterMs === undefined ? undefined : { retryAfterMs };

  if (answer?.fault !== undefined) return { ok: false, error: classifyFault(answer.fault, context, detail) };

  const status = `HTTP ${http.status}`;
  const body = snippet(http.bodyText);
  const caMessage = body === '' ? status : `${status}: ${body}`;
  if (http.status >= 200 && http.status < 300) {
    if (answer !== undefined) return { ok: true, answer };
    return {
      ok: false,
      error: unexpectedAnswerError(context, `the answer is not SOAP (${parseProblem})`, caMessage),
    };
  }
  if (http.status === 429) {
    return {
      ok: false,
      error: error('CA_UNAVAILABLE', context, `the CA asks to slow down (${status})`, { caMessage, detail }),
    };
  }
  if (http.status >= 500) {
    const failed = error('CA_UNAVAILABLE', context, `the CA answered ${status} without a SOAP fault`, {
      caMessage,
      detail,
    });
    if (options.idempotent === false && !NOT_CARRIED_OUT_STATUSES.has(http.status)) {
      return { ok: false, error: ambiguousError(failed) };
    }
    return { ok: false, error: failed };
  }
  if (http.status === 401 || http.status === 403) {
    return {
      ok: false,
      error: error('CA_TLS_FAILED', context, `the CA refused the RA certificate (${status})`, {
        caMessage,
        remedy: RA_REJECTED_REMEDY,
        detail: { raRejection: 'refused' },
      }),
    };
  }
  if (http.status === 404 || http.status === 405) {
    return {
      ok: false,
      error: error(
        'CA_REJECTED',
        context,
        `there is no PKI-WS ${context.service} at ${context.caHost} (${status})`,
        {
          caMessage,
          remedy: `Check that ${context.caHost} is the DigiCert PKI-WS FQDN of your account (such as pki-ws.symauth.com), without a path.`,
        },
      ),
    };
  }
  return { ok: false, error: error('CA_REJECTED', context, `the CA answered ${status}`, { caMessage }) };
}

// ---------------------------------------------------------------------------------------------------------
// Answers that parse but do not say what they should

export function unexpectedAnswerError(
  context: CallContext,
  problem: string,
  caMessage?: string,
): BrokerError {
  return error('CA_REJECTED', context, `the answer could not be understood: ${problem}`, {
    caMessage: caMessage ?? problem,
    remedy: `${DEFAULT_REMEDIES.CA_REJECTED} If the answer looks unrelated to PKI-WS, check that ${context.caHost} is the DigiCert PKI-WS host of your account.`,
  });
}

export function profileNotInPolicyError(
  context: CallContext,
  profileOid: string,
  known: string[],
): BrokerError {
  const offered = known.length === 0 ? 'no policy at all' : `policies for ${known.join(', ')} only`;
  return error(
    'PROFILE_NOT_FOUND',
    context,
    `the CA has no policy for certificate profile ${profileOid} (it returned ${offered})`,
    { caMessage: `no policy for ${profileOid}` },
  );
}

export function pendingApprovalError(
  context: CallContext,
  reference: string,
  disposition?: string,
): BrokerError {
  const caMessage =
    disposition === undefined
      ? `pendingTokenReferenceID ${reference}`
      : `${disposition} (pendingTokenReferenceID ${reference})`;
  return error(
    'CA_REJECTED',
    context,
    `the CA did not issue the certificate: the request waits for approval (reference ${reference})`,
    {
      caMessage,
      remedy:
        'The DigiCert certificate profile requires administrator approval, which an Intune PKCS enrollment cannot wait for. Turn off manual approval in the DigiCert profile used for Intune, then resubmit the request.',
    },
  );
}

/** A refusal whose words say the certificate is revoked already: for a Revoke, the wanted state. */
const ALREADY_REVOKED =
  /\balready\s+(?:been\s+)?revoked\b|\b(?:is|was|has\s+been)\s+(?:already\s+)?revoked\b|\bstatus\s+(?:is\s+)?REVOKED\b/i;

/** Whether a failed Revoke says the certificate is revoked already (a fault or a negative successCode). */
export function saysAlreadyRevoked(failed: BrokerError): boolean {
  if (failed.code === 'CA_TIMEOUT' || failed.code === 'CA_UNAVAILABLE') return false;
  return failed.caMessage !== undefined && ALREADY_REVOKED.test(failed.caMessage);
}

export function caDownError(context: CallContext, statusMessage: string): BrokerError {
  return error('CA_UNAVAILABLE', context, `the CA reports its enrollment service DOWN: "${statusMessage}"`, {
    caMessage: statusMessage,
  });
}

/** The final error after `attempts` tries of a retryable failure: the same error, the count in the message. */
export function afterAttempts(last: BrokerError, attempts: number): BrokerError {
  if (attempts <= 1) return last;
  return new BrokerError(last.code, `${last.message} (${attempts} attempts)`, {
    remedy: last.remedy,
    retryable: last.retryable,
    caMessage: last.caMessage,
    cause: last.cause,
    ambiguous: last.ambiguous,
    detail: last.detail,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Enrollments that may have been carried out, and the resilience policies' own refusals

const AMBIGUOUS_REMEDY =
  'Nothing to do for this request: the broker asks the CA (searchCertificate) whether the certificate was issued before it enrolls again. If this keeps happening, raise CA_REQUEST_TIMEOUT_MS or contact DigiCert support.';

/**
 * The same failure, marked as one that may have reached the CA and been carried out (a timeout or a broken
 * connection after the enrollment was sent, a 500 without a SOAP fault): retryable, but only after the CA was
 * asked what it did. Its detail is left behind on purpose: an inferred RA rejection carried over would make
 * the transport resend the enrollment with a renewed credential, and the CA may have issued already.
 */
export function ambiguousError(failed: BrokerError): BrokerError {
  const code = failed.code === 'CA_TIMEOUT' ? 'CA_TIMEOUT' : 'CA_UNAVAILABLE';
  return new BrokerError(
    code,
    `${failed.message}; the request had been sent, so the CA may have issued the certificate: ask the CA (searchCertificate) before enrolling again`,
    {
      remedy: AMBIGUOUS_REMEDY,
      retryable: true,
      ambiguous: true,
      caMessage: failed.caMessage,
      cause: failed.cause ?? failed,
    },
  );
}

/** A failure that says the CA is struggling (a timeout, a broken connection, 5xx, a transient fault). */
export function isTransientCaFailure(failed: BrokerError): boolean {
  return failed.retryable && (failed.code === 'CA_TIMEOUT' || failed.code === 'CA_UNAVAILABLE');
}

/** Refusals of the circuit breaker and the bulkhead: they end the call at once, without retries. */
export function isPolicyRefusal(failed: BrokerError): boolean {
  const refusedBy = failed.detail?.refusedBy;
  return refusedBy === 'circuit' || refusedBy === 'bulkhead';
}

export function circuitOpenError(
  context: CallContext,
  consecutiveFailures: number,
  lastFailure?: BrokerError,
): BrokerError {
  const last = lastFailure === undefined ? '' : ` (last: ${lastFailure.message})`;
  return new BrokerError(
    'CA_UNAVAILABLE',
    `${describe(context)} not attempted: the CA at ${context.caHost} failed ${consecutiveFailures} times in a row${last}; requests wait in the queue until it recovers`,
    {
      retryable: true,
      remedy: `${DEFAULT_REMEDIES.CA_UNAVAILABLE} The broker tries again after CA_CIRCUIT_HALF_OPEN_MS, once the CA's health check says UP.`,
      ...(lastFailure?.caMessage === undefined ? {} : { caMessage: lastFailure.caMessage }),
      detail: { refusedBy: 'circuit' },
    },
  );
}

/**
 * A failure the retry policy leaves alone: the breaker or the bulkhead refused, or the CA is still DOWN (a
 * half-open circuit's health check, which counts against the CA but ends the call).
 */
export function endsCallAtOnce(failed: BrokerError): boolean {
  return failed.detail?.refusedBy !== undefined;
}

export function halfOpenCheckError(context: CallContext, statusMessage: string): BrokerError {
  return error(
    'CA_UNAVAILABLE',
    context,
    `the CA at ${context.caHost} failed repeatedly and its health check still reports it DOWN: "${statusMessage}"; requests wait in the queue until it recovers`,
    { caMessage: statusMessage, retryable: true, detail: { refusedBy: 'healthCheck' } },
  );
}

export function tooManyInFlightError(
  context: CallContext,
  maxConcurrency: number,
  maxQueued: number,
): BrokerError {
  return new BrokerError(
    'CA_UNAVAILABLE',
    `${describe(context)} not attempted: too many requests in flight (${maxConcurrency} CA calls running and ${maxQueued} waiting, CA_MAX_CONCURRENCY)`,
    {
      retryable: true,
      remedy:
        'Nothing to do for this request: it is retried from the queue. If this keeps happening, let the Function App scale out further (or lower host.json batchSize) rather than raising CA_MAX_CONCURRENCY beyond what DigiCert accepts.',
      detail: { refusedBy: 'bulkhead' },
    },
  );
}

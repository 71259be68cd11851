/**
 * Exceptions thrown while connecting, sending or reading (Node's and undici's error codes, TLS alerts) turned
 * into BrokerErrors. The only place that looks at those codes.
 */
import { BrokerError } from '../../contract/errors';
import { CallContext, callError, describeCall } from './callContext';
import { RA_REJECTED_REMEDY } from './raRejection';

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
    return callError(
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
    return callError(
      'CA_TLS_FAILED',
      context,
      `the CA's server certificate is not trusted (${quote(facts)})`,
      {
        remedy: `Check that ${context.caHost} is the DigiCert FQDN of your account and that its certificate chains to a root this host trusts; nothing between the broker and DigiCert may intercept TLS.`,
        cause,
      },
    );
  }
  if (CLIENT_CERTIFICATE_ALERT.test(code)) {
    return callError('CA_TLS_FAILED', context, `the CA rejected the RA certificate (${quote(facts)})`, {
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
    return callError(
      'CA_TLS_FAILED',
      context,
      `the CA closed the connection during the TLS handshake without answering: the RA certificate was most likely rejected (${quote(facts)})`,
      { remedy: RA_REJECTED_REMEDY, cause, detail: { raRejection: stated ? 'refused' : 'inferred' } },
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return callError('CA_TLS_FAILED', context, `the TLS handshake failed (${quote(facts)})`, { cause });
  }
  if (code.startsWith('ERR_OSSL_')) {
    // Raised while building the TLS context from our own credential (key not matching the certificate, a
    // key that cannot be decoded): read it again, it may have been replaced.
    return new BrokerError(
      'RA_CERT_UNAVAILABLE',
      `${describeCall(context)} failed: the RA certificate or its private key cannot be used for TLS (${code})`,
      { retryable: false, cause, detail: { raRejection: 'unusable' } },
    );
  }
  if (failure.attemptTimedOut || facts.name === 'TimeoutError') {
    return callError(
      'CA_TIMEOUT',
      context,
      `no complete answer within ${failure.requestTimeoutMs} ms (CA_REQUEST_TIMEOUT_MS)`,
      { cause },
    );
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return callError(
      'CA_TIMEOUT',
      context,
      `no connection within ${failure.connectTimeoutMs} ms (CA_CONNECT_TIMEOUT_MS)`,
      { cause },
    );
  }
  if (TIMEOUT_ERRORS.has(code)) {
    return callError('CA_TIMEOUT', context, `the CA did not answer in time (${quote(facts)})`, { cause });
  }
  if (code === 'ENOTFOUND') {
    return callError(
      'CA_UNAVAILABLE',
      context,
      `DNS does not know the host name "${context.caHost}" (${quote(facts)}); check the FQDN`,
      { cause },
    );
  }
  if (code === 'ECONNREFUSED') {
    return callError('CA_UNAVAILABLE', context, `the connection was refused (${quote(facts)})`, { cause });
  }
  if (CONNECTION_ERRORS.has(code)) {
    return callError('CA_UNAVAILABLE', context, `the connection broke (${quote(facts)})`, { cause });
  }
  return callError('CA_UNAVAILABLE', context, `the request could not be completed (${quote(facts)})`, {
    cause,
  });
}

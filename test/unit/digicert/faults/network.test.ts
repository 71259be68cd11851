import type { ErrorCode } from '../../../../shared/contract/errors';
import { classifyTransportError } from '../../../../shared/digicert/faults/network';
import { isRaCertificateRejection } from '../../../../shared/digicert/faults/raRejection';
import { afterAttempts } from '../../../../shared/digicert/resilienceRefusals';
import { coded, context, failure } from './fixtures';

describe('classifyTransportError', () => {
  const table: [string, unknown, ErrorCode, boolean, RegExp][] = [
    [
      'untrusted server',
      coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      'CA_TLS_FAILED',
      false,
      /server certificate is not trusted/,
    ],
    ['self-signed server', coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'CA_TLS_FAILED', false, /not trusted/],
    ['expired server', coded('CERT_HAS_EXPIRED'), 'CA_TLS_FAILED', false, /not trusted/],
    [
      'name mismatch',
      coded('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      'CA_TLS_FAILED',
      false,
      /wrong FQDN/,
    ],
    [
      'alert bad certificate',
      coded('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'),
      'CA_TLS_FAILED',
      false,
      /rejected the RA certificate/,
    ],
    [
      'alert unknown ca',
      coded('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'),
      'CA_TLS_FAILED',
      false,
      /rejected the RA certificate/,
    ],
    [
      'certificate required',
      coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'),
      'CA_TLS_FAILED',
      false,
      /rejected the RA certificate/,
    ],
    [
      'closed in handshake (TLS 1.3)',
      coded('UND_ERR_SOCKET', 'other side closed', { socket: { bytesRead: 0 } }),
      'CA_TLS_FAILED',
      false,
      /RA certificate was most likely rejected/,
    ],
    [
      'reset in handshake (TLS 1.2)',
      coded('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established'),
      'CA_TLS_FAILED',
      false,
      /during the TLS handshake/,
    ],
    ['not TLS at all', coded('ERR_SSL_WRONG_VERSION_NUMBER'), 'CA_TLS_FAILED', false, /TLS handshake failed/],
    [
      'broken RA key',
      coded('ERR_OSSL_X509_KEY_VALUES_MISMATCH'),
      'RA_CERT_UNAVAILABLE',
      false,
      /cannot be used for TLS/,
    ],
    [
      'connect timeout',
      coded('UND_ERR_CONNECT_TIMEOUT'),
      'CA_TIMEOUT',
      true,
      /no connection within 10000 ms/,
    ],
    ['headers timeout', coded('UND_ERR_HEADERS_TIMEOUT'), 'CA_TIMEOUT', true, /did not answer in time/],
    ['body timeout', coded('UND_ERR_BODY_TIMEOUT'), 'CA_TIMEOUT', true, /did not answer in time/],
    [
      'abort timeout',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'CA_TIMEOUT',
      true,
      /within 30000 ms/,
    ],
    [
      'refused',
      coded('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:443'),
      'CA_UNAVAILABLE',
      true,
      /refused/,
    ],
    [
      'refused, several addresses',
      new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]),
      'CA_UNAVAILABLE',
      true,
      /refused/,
    ],
    [
      'refused, as a cause',
      new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }),
      'CA_UNAVAILABLE',
      true,
      /refused/,
    ],
    ['reset', coded('ECONNRESET', 'read ECONNRESET'), 'CA_UNAVAILABLE', true, /connection broke/],
    [
      'closed mid-answer',
      coded('UND_ERR_SOCKET', 'other side closed', { socket: { bytesRead: 812 } }),
      'CA_UNAVAILABLE',
      true,
      /connection broke/,
    ],
    ['DNS', coded('ENOTFOUND', 'getaddrinfo ENOTFOUND ca.fabrikam.test'), 'CA_UNAVAILABLE', true, /DNS/],
    ['unknown', new Error('something odd'), 'CA_UNAVAILABLE', true, /something odd/],
  ];

  it.each(table)('%s', (_label, cause, code, retryable, message) => {
    const error = classifyTransportError(cause, context, failure);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toMatch(message);
    expect(error.message).toContain('requestSecurityToken at ca.fabrikam.test');
  });

  it('calls an attempt cut by its own timeout CA_TIMEOUT, whatever undici threw', () => {
    const error = classifyTransportError(coded('UND_ERR_ABORTED', 'Request aborted'), context, {
      ...failure,
      attemptTimedOut: true,
    });
    expect(error.code).toBe('CA_TIMEOUT');
  });

  it('marks failures of the RA credential (so it is read again) and nothing else', () => {
    const marked = (code: string) =>
      isRaCertificateRejection(classifyTransportError(coded(code), context, failure));
    expect(marked('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE')).toBe(true);
    expect(marked('ERR_OSSL_X509_KEY_VALUES_MISMATCH')).toBe(true);
    expect(marked('UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toBe(false);
    expect(marked('ECONNREFUSED')).toBe(false);
    expect(marked('UND_ERR_HEADERS_TIMEOUT')).toBe(false);
    const rejected = classifyTransportError(
      coded('UND_ERR_SOCKET', 'other side closed', { socket: { bytesRead: 0 } }),
      context,
      failure,
    );
    expect(isRaCertificateRejection(afterAttempts(rejected, 2))).toBe(true);
  });

  it('gives tailored remedies for the three TLS failures', () => {
    const untrusted = classifyTransportError(coded('SELF_SIGNED_CERT_IN_CHAIN'), context, failure);
    const mismatch = classifyTransportError(coded('ERR_TLS_CERT_ALTNAME_INVALID'), context, failure);
    const rejected = classifyTransportError(coded('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), context, failure);
    expect(untrusted.remedy).toMatch(/chains to a root/);
    expect(mismatch.remedy).toMatch(/exact DigiCert FQDN/);
    expect(rejected.remedy).toMatch(/RA certificate DigiCert issued/);
  });
});

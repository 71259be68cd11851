import { BrokerError, ErrorCode } from '../../../shared/contract/errors';
import {
  CallContext,
  afterAttempts,
  ambiguousError,
  classifyFault,
  classifyTransportError,
  interpretHttpAnswer,
  isInferredRaRejection,
  isRaCertificateRejection,
  parseRetryAfter,
} from '../../../shared/digicert/faults';
import type { SoapFault } from '../../../shared/digicert/soap';
import { digicertFixture } from '../../support/digicertFixtures';

const context: CallContext = {
  operation: 'requestSecurityToken',
  caHost: 'ca.fabrikam.test',
  service: 'enrollmentService',
  profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.61234567',
};
const failure = { attemptTimedOut: false, requestTimeoutMs: 30000, connectTimeoutMs: 10000 };

function coded(code: string, message = 'x', extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

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

function fault(
  faultString: string,
  detailMessage?: string,
  code = 'soapenv:Client',
  errorCode?: string,
): SoapFault {
  const result: SoapFault = {
    code,
    codeLocalName: code.slice(code.indexOf(':') + 1),
    faultString,
    detailText: [errorCode, detailMessage].filter(Boolean).join(' '),
  };
  if (detailMessage !== undefined) result.detailMessage = detailMessage;
  if (errorCode !== undefined) result.errorCode = errorCode;
  return result;
}

describe('classifyFault', () => {
  const table: [string, SoapFault, ErrorCode, boolean][] = [
    ['element not understood', fault('A request element was not understood.'), 'PROFILE_NOT_FOUND', false],
    [
      'profile OID not valid',
      fault('Validation failed', 'Certificate profile OID 1.2.3 is not valid for this account.'),
      'PROFILE_NOT_FOUND',
      false,
    ],
    ['unknown profile', fault('Unknown certificate profile 1.2.3'), 'PROFILE_NOT_FOUND', false],
    [
      'unsupported attribute',
      fault(
        'Policy verification failed.',
        'The attribute is not in the list of DigiCert supported attributes for certificate templates.',
      ),
      'POLICY_MISMATCH',
      false,
    ],
    ['mandatory missing', fault('Mandatory attribute common_name is missing'), 'POLICY_MISMATCH', false],
    [
      'name characters',
      fault('Invalid value', 'Special characters are not allowed in mail_firstname'),
      'NAME_CHARACTERS_UNSUPPORTED',
      false,
    ],
    [
      'name characters, capital N',
      fault('mail_lastName contains an invalid character: _'),
      'NAME_CHARACTERS_UNSUPPORTED',
      false,
    ],
    [
      'server busy',
      fault('Server busy, try again later', undefined, 'soapenv:Server'),
      'CA_UNAVAILABLE',
      true,
    ],
    [
      'receiver unavailable (SOAP 1.2)',
      fault('Service temporarily unavailable', undefined, 'env:Receiver'),
      'CA_UNAVAILABLE',
      true,
    ],
    [
      'client fault that reads transient',
      fault('Busy seat, try again', undefined, 'soapenv:Client'),
      'CA_REJECTED',
      false,
    ],
    [
      'server error',
      fault('Internal error while processing the request', undefined, 'soapenv:Server'),
      'CA_REJECTED',
      false,
    ],
    [
      'anything else',
      fault(
        'Duplicate certificate for seat',
        'Seat already holds a valid certificate',
        'soapenv:Client',
        '2101',
      ),
      'CA_REJECTED',
      false,
    ],
  ];

  it.each(table)('%s', (_label, soapFault, code, retryable) => {
    const error = classifyFault(soapFault, context);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.caMessage).toContain(soapFault.faultString);
    if (soapFault.detailMessage !== undefined) expect(error.caMessage).toContain(soapFault.detailMessage);
    expect(error.message).toContain('ca.fabrikam.test');
  });

  it('puts faultstring, detail message and errorcode in caMessage', () => {
    const error = classifyFault(
      fault('Rejected', 'Seat already holds a valid certificate', 'soapenv:Client', '2101'),
      context,
    );
    expect(error.caMessage).toBe('Rejected — Seat already holds a valid certificate (errorcode 2101)');
  });

  it('names the profile in PROFILE_NOT_FOUND', () => {
    expect(classifyFault(fault('A request element was not understood.'), context).message).toContain(
      context.profileOid,
    );
  });
});

describe('interpretHttpAnswer', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  const failed = (outcome: ReturnType<typeof interpretHttpAnswer>) => {
    if (outcome.ok) throw new Error('expected a failure');
    return outcome;
  };

  it('hands on a SOAP answer with 200', () => {
    const outcome = interpretHttpAnswer(
      { status: 200, headers: {}, bodyText: digicertFixture('health-up.xml') },
      context,
      now,
    );
    expect(outcome.ok).toBe(true);
  });

  it('classifies a fault by its words, not its HTTP status', () => {
    const outcome = failed(
      interpretHttpAnswer(
        { status: 500, headers: {}, bodyText: digicertFixture('fault-unknown-profile.xml') },
        context,
        now,
      ),
    );
    expect(outcome.error.code).toBe('PROFILE_NOT_FOUND');
    expect(outcome.error.retryable).toBe(false);
    expect(outcome.error.caMessage).toBe(
      'A request element was not understood. — Profile OID 2.16.840.1.113733.1.16.1.2.3.1.1.1 is unknown (errorcode 1003)',
    );
    const busy = failed(
      interpretHttpAnswer(
        { status: 500, headers: {}, bodyText: digicertFixture('fault-server-busy.xml') },
        context,
        now,
      ),
    );
    expect(busy.error.code).toBe('CA_UNAVAILABLE');
    expect(busy.error.retryable).toBe(true);
  });

  it('makes 5xx without a fault CA_UNAVAILABLE, honouring Retry-After on 503', () => {
    const outcome = failed(
      interpretHttpAnswer(
        {
          status: 503,
          headers: { 'retry-after': '7' },
          bodyText: '<html><body><h1>503 Service Unavailable</h1></body></html>',
        },
        context,
        now,
      ),
    );
    expect(outcome.error.code).toBe('CA_UNAVAILABLE');
    expect(outcome.error.retryable).toBe(true);
    expect(outcome.error.detail?.retryAfterMs).toBe(7000);
    expect(outcome.error.caMessage).toBe('HTTP 503: 503 Service Unavailable');
    const bare = failed(interpretHttpAnswer({ status: 502, headers: {}, bodyText: '' }, context, now));
    expect(bare.error.code).toBe('CA_UNAVAILABLE');
    expect(bare.error.detail?.retryAfterMs).toBeUndefined();
  });

  it('makes 429 CA_UNAVAILABLE with the Retry-After date as a delay', () => {
    const outcome = failed(
      interpretHttpAnswer(
        { status: 429, headers: { 'retry-after': 'Sat, 10 Jan 2026 12:00:05 GMT' }, bodyText: '' },
        context,
        now,
      ),
    );
    expect(outcome.error.code).toBe('CA_UNAVAILABLE');
    expect(outcome.error.detail?.retryAfterMs).toBe(5000);
  });

  it('makes 401/403 a refused RA certificate, 404 a wrong host, other 4xx and non-SOAP 200 CA_REJECTED', () => {
    expect(
      failed(interpretHttpAnswer({ status: 403, headers: {}, bodyText: 'Forbidden' }, context, now)).error
        .code,
    ).toBe('CA_TLS_FAILED');
    const notFound = failed(
      interpretHttpAnswer({ status: 404, headers: {}, bodyText: '' }, context, now),
    ).error;
    expect(notFound.code).toBe('CA_REJECTED');
    expect(notFound.message).toMatch(/no PKI-WS enrollmentService at ca\.fabrikam\.test/);
    expect(
      failed(interpretHttpAnswer({ status: 400, headers: {}, bodyText: 'bad' }, context, now)).error.code,
    ).toBe('CA_REJECTED');
    const html = failed(
      interpretHttpAnswer({ status: 200, headers: {}, bodyText: '<html><p>hi</p></html>' }, context, now),
    ).error;
    expect(html.code).toBe('CA_REJECTED');
    expect(html.message).toMatch(/not SOAP/);
  });
});

/** A SOAP 1.1 fault as a CA could send it; the detail layout and prefixes vary between cases. */
function faultEnvelope(
  faultString: string,
  detail?: { message: string; errorCode?: string; style?: string },
): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let detailXml = '';
  if (detail !== undefined) {
    const code = detail.errorCode === undefined ? '' : `<errorcode>${detail.errorCode}</errorcode>`;
    detailXml =
      detail.style === 'vendor'
        ? `<detail><v:PkiFault xmlns:v="urn:test:vendor"><v:ErrorCode>${detail.errorCode ?? ''}</v:ErrorCode><v:Message>${escape(detail.message)}</v:Message></v:PkiFault></detail>`
        : `<detail>${code}<message>${escape(detail.message)}</message></detail>`;
  }
  return (
    `<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">` +
    `<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>` +
    `<faultstring>${escape(faultString)}</faultstring>${detailXml}</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

describe('fault words through interpretHttpAnswer: the specific class wins over the generic one', () => {
  const NOT_UNDERSTOOD = 'A request element was not understood.';
  const classify = (bodyText: string): ErrorCode => {
    const outcome = interpretHttpAnswer({ status: 500, headers: {}, bodyText }, context, 0);
    if (outcome.ok) throw new Error('expected a failure');
    return outcome.error.code;
  };

  const cases: [
    string,
    string,
    { message: string; errorCode?: string; style?: string } | undefined,
    ErrorCode,
  ][] = [
    // An attribute problem in the detail beats the generic faultstring.
    [
      'not understood + missing mandatory attribute',
      NOT_UNDERSTOOD,
      { message: 'Mandatory attribute mail_email is missing', errorCode: '1003' },
      'POLICY_MISMATCH',
    ],
    [
      'not understood + missing attribute, vendor detail',
      NOT_UNDERSTOOD,
      { message: 'Mandatory attribute mail_email is missing', errorCode: '1003', style: 'vendor' },
      'POLICY_MISMATCH',
    ],
    [
      'profile requires an attribute that was not found',
      'The certificate profile requires attribute mail_email which was not found',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'not understood + profile requires attribute',
      NOT_UNDERSTOOD,
      { message: 'The certificate profile requires attribute mail_email which was not found' },
      'POLICY_MISMATCH',
    ],
    ['value is required', 'Value for mail_email is required', undefined, 'POLICY_MISMATCH'],
    ['cannot be empty', 'mail_email cannot be empty', undefined, 'POLICY_MISMATCH'],
    ['not provided', 'Attribute mail_email not provided', undefined, 'POLICY_MISMATCH'],
    [
      'not understood + nameValuePair not recognised',
      NOT_UNDERSTOOD,
      { message: 'nameValuePair otherNameGUID is not recognized' },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, English',
      'Policy verification failed.',
      {
        message:
          'The attribute is not in the list of DigiCert supported attributes for certificate templates.',
      },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, English, behind "not understood"',
      NOT_UNDERSTOOD,
      {
        message:
          'The attribute is not in the list of DigiCert supported attributes for certificate templates.',
      },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, Dutch',
      'Verificatie van beleid is mislukt.',
      {
        message:
          'Het kenmerk staat niet op de lijst met in DigiCert ondersteunde kenmerken voor certificaatsjablonen.',
      },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, Dutch, sentence alone',
      'Het kenmerk staat niet op de lijst met in DigiCert ondersteunde kenmerken voor certificaatsjablonen.',
      undefined,
      'POLICY_MISMATCH',
    ],
    // Profiles the CA does not know.
    [
      'no policy for the OID',
      'No policy found for OID 2.16.840.1.113733.1.16.1.2.3.1.1.5',
      undefined,
      'PROFILE_NOT_FOUND',
    ],
    [
      'profile does not exist',
      'Certificate profile 2.16.840.1.113733.1.16.1.2.3.1.1.5 does not exist',
      undefined,
      'PROFILE_NOT_FOUND',
    ],
    ['invalid profile OID', 'Invalid certificate profile OID', undefined, 'PROFILE_NOT_FOUND'],
    [
      'not understood + profile OID not valid (the team sample)',
      NOT_UNDERSTOOD,
      {
        message:
          'Certificate profile OID 2.16.840.1.113733.1.16.1.2.3.1.1.99999999 is not valid for this account.',
        errorCode: '1003',
      },
      'PROFILE_NOT_FOUND',
    ],
    [
      'not understood + no policy found',
      NOT_UNDERSTOOD,
      { message: 'No policy found for OID 2.16.840.1.113733.1.16.1.2.3.1.1.5' },
      'PROFILE_NOT_FOUND',
    ],
    ['not understood alone', NOT_UNDERSTOOD, undefined, 'PROFILE_NOT_FOUND'],
    ['not understood alone, Dutch', 'Een aanvraagelement is niet begrepen.', undefined, 'PROFILE_NOT_FOUND'],
    // Characters of a first or last name.
    [
      'first name in words',
      'First name contains invalid characters',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'mail firstName with a space',
      'mail firstName contains unsupported characters',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'validation failed, contains _',
      'Validation failed for mail_firstName: contains _',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'special characters in mail_lastname',
      'special characters are not allowed in mail_lastname',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'not understood + special characters in mail_lastname',
      NOT_UNDERSTOOD,
      { message: 'special characters are not allowed in mail_lastname' },
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'special characters, no field named',
      'Special characters are not supported',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    // Look-alikes that must not become a character problem.
    [
      'missing first name is an attribute problem',
      'Mandatory attribute mail_firstName is missing',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'a first-name field the profile lacks',
      'Attribute mail_firstName is not supported by this profile',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'invalid characters in another field',
      'common_name contains invalid characters',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'not understood + an invalid certificateProfileID value',
      NOT_UNDERSTOOD,
      { message: 'Element certificateProfileID value 1.2.3 is invalid' },
      'PROFILE_NOT_FOUND',
    ],
    ['unknown certificateProfileID', 'Unknown certificateProfileID', undefined, 'PROFILE_NOT_FOUND'],
    [
      'no policy for the profile OID',
      'Account has no policy for profile OID 1.2.3',
      undefined,
      'PROFILE_NOT_FOUND',
    ],
    [
      'an attribute problem next to a profile ID',
      'The profile ID 5 requires attribute mail_email which is missing',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'a value the attribute does not accept',
      'Request rejected',
      { message: 'mail_email: value is not a valid e-mail address' },
      'POLICY_MISMATCH',
    ],
    [
      'subject format the profile refuses',
      'Subject DN does not match the profile',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'unrelated refusal',
      'Duplicate certificate for seat',
      { message: 'Seat already holds a valid certificate', errorCode: '2101' },
      'CA_REJECTED',
    ],
    [
      'an all-capitals error constant is no attribute',
      'ERR_SEAT_QUOTA: quota exceeded',
      undefined,
      'CA_REJECTED',
    ],
  ];

  it.each(cases)('%s', (_label, faultString, detail, code) => {
    expect(classify(faultEnvelope(faultString, detail))).toBe(code);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  it.each([
    ['120', 120000],
    [' 0 ', 0],
    ['Sat, 10 Jan 2026 12:01:00 GMT', 60000],
    ['Sat, 10 Jan 2026 11:00:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%p → %p', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '9'], now)).toBe(3000);
  });
});

describe('afterAttempts', () => {
  it('keeps code, remedy and CA message and adds the count', () => {
    const last = new BrokerError('CA_TIMEOUT', 'x timed out', { caMessage: 'slow' });
    const final = afterAttempts(last, 3);
    expect(final).toMatchObject({
      code: 'CA_TIMEOUT',
      retryable: true,
      caMessage: 'slow',
      remedy: last.remedy,
    });
    expect(final.message).toBe('x timed out (3 attempts)');
    expect(afterAttempts(last, 1)).toBe(last);
  });

  it('keeps ambiguous', () => {
    const final = afterAttempts(ambiguousError(new BrokerError('CA_TIMEOUT', 'x timed out')), 2);
    expect(final).toMatchObject({ code: 'CA_TIMEOUT', ambiguous: true, retryable: true });
    expect(final.message).toMatch(/may have issued the certificate.*\(2 attempts\)$/);
  });

  it('keeps the detail', () => {
    const last = new BrokerError('CA_UNAVAILABLE', 'busy', { detail: { retryAfterMs: 1000 } });
    expect(afterAttempts(last, 2).detail).toEqual({ retryAfterMs: 1000 });
  });
});

describe('enrollment answers that leave open whether the CA issued', () => {
  const enrollment = { idempotent: false };
  const outcomeOf = (status: number, bodyText: string, headers: Record<string, string> = {}) => {
    const outcome = interpretHttpAnswer({ status, headers, bodyText }, context, 0, enrollment);
    if (outcome.ok) throw new Error('expected a failure');
    return outcome;
  };

  it.each([500, 504, 501])(
    'HTTP %i without a SOAP fault → ambiguous CA_UNAVAILABLE, saying the CA may have issued',
    (status) => {
      const { error } = outcomeOf(status, '<html>Internal error</html>');
      expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true, ambiguous: true });
      expect(error.message).toMatch(
        new RegExp(
          `HTTP ${status} without a SOAP fault; the request had been sent, so the CA may have issued the certificate: ask the CA \\(searchCertificate\\) before enrolling again`,
        ),
      );
      expect(error.remedy).toMatch(/asks the CA \(searchCertificate\)/);
    },
  );

  it.each([502, 503, 429])('HTTP %i → not ambiguous: the CA (or its gateway) said no', (status) => {
    const { error } = outcomeOf(status, 'busy', { 'retry-after': '1' });
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true, ambiguous: false });
    expect(error.detail?.retryAfterMs).toBe(status === 502 ? undefined : 1000);
  });

  it('a 500 carrying a SOAP fault is the CA refusing: classified, never ambiguous', () => {
    const { error } = outcomeOf(500, digicertFixture('fault-unknown-profile.xml'));
    expect(error.code).toBe('PROFILE_NOT_FOUND');
    expect(error.ambiguous).toBe(false);
    const busy = outcomeOf(500, digicertFixture('fault-server-busy.xml')).error;
    expect(busy).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true, ambiguous: false });
  });

  it('for idempotent operations a 500 without fault stays a plain transient failure', () => {
    const outcome = interpretHttpAnswer({ status: 500, headers: {}, bodyText: '' }, context, 0);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.ambiguous).toBe(false);
  });

  it('ambiguousError keeps a timeout a timeout and turns anything else into CA_UNAVAILABLE', () => {
    const timedOut = ambiguousError(new BrokerError('CA_TIMEOUT', 'late', { caMessage: 'slow' }));
    expect(timedOut).toMatchObject({
      code: 'CA_TIMEOUT',
      ambiguous: true,
      retryable: true,
      caMessage: 'slow',
    });
    const hungUp = ambiguousError(new BrokerError('CA_TLS_FAILED', 'hung up'));
    expect(hungUp).toMatchObject({ code: 'CA_UNAVAILABLE', ambiguous: true, retryable: true });
  });

  it('marks a hang-up without a byte of answer as an inferred RA rejection, a TLS alert as a stated one', () => {
    const silent = classifyTransportError(
      Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', socket: { bytesRead: 0 } }),
      context,
      failure,
    );
    expect(isRaCertificateRejection(silent)).toBe(true);
    expect(isInferredRaRejection(silent)).toBe(true);
    expect(isInferredRaRejection(afterAttempts(silent, 2))).toBe(true);
    // Sent already: a renewed credential must not resend it, so the ambiguous error is no rejection.
    expect(isRaCertificateRejection(ambiguousError(silent))).toBe(false);
    const alert = classifyTransportError(
      coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'),
      context,
      failure,
    );
    expect(isRaCertificateRejection(alert)).toBe(true);
    expect(isInferredRaRejection(alert)).toBe(false);
  });
});

import { BrokerError } from '../../../../shared/contract/errors';
import { interpretHttpAnswer, parseRetryAfter } from '../../../../shared/digicert/faults/httpAnswer';
import { classifyTransportError } from '../../../../shared/digicert/faults/network';
import {
  isInferredRaRejection,
  isRaCertificateRejection,
} from '../../../../shared/digicert/faults/raRejection';
import { ambiguousError } from '../../../../shared/digicert/faults/transient';
import { afterAttempts } from '../../../../shared/digicert/resilienceRefusals';
import { digicertFixture } from '../../../support/digicertFixtures';
import { coded, context, failure } from './fixtures';

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

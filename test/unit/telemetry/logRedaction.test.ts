import { BrokerError } from '../../../shared/contract/errors';
import { parseRequestMessage } from '../../../shared/contract/validate';
import {
  MAX_LOG_LINE,
  logLineFor,
  loggableFailure,
  personalValuesOf,
} from '../../../shared/telemetry/logRedaction';
import { pseudonymize } from '../../../shared/telemetry/pseudonym';

const MAIL = 'IWUser0@contoso.onmicrosoft.com';
const SID = 'S-1-5-21-1004336348-1177238915-682003330-512';

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    requestId: 'r-1',
    certificateAuthority: 'pki-ws.symauth.com',
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    subjectName: `CN=Iwan User,E=${MAIL}`,
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: MAIL },
      { type: 'AltNameTypeUpn', value: 'iwuser0@contoso.com' },
    ],
    securityIdentifier: SID,
    recipientCertificate: 'MIIB',
    ...overrides,
  };
}

const line = (message: unknown, text: string): string =>
  logLineFor(message, { includePersonalData: false, keep: ['r-1'] })(text);

describe('personalValuesOf', () => {
  it('reads the subject, its personal attribute values, every SAN value and the SID', () => {
    expect(personalValuesOf(request())).toEqual(
      expect.arrayContaining([`CN=Iwan User,E=${MAIL}`, 'Iwan User', MAIL, 'iwuser0@contoso.com', SID]),
    );
  });

  it('reads a message the host left as text, and unescapes quoted and escaped DN values', () => {
    const text = JSON.stringify(
      request({ subjectName: 'OID.2.5.4.3="Doe, Jane";O=Contoso;EMAIL=j\\+d@x.org' }),
    );
    const values = personalValuesOf(text);
    expect(values).toEqual(expect.arrayContaining(['Doe, Jane', 'j+d@x.org']));
    expect(values).not.toContain('Contoso');
  });

  it('finds nothing in what is no JSON object, and skips fields of the wrong type', () => {
    expect(personalValuesOf('{"subjectName": ')).toEqual([]);
    expect(personalValuesOf([1, 2])).toEqual([]);
    expect(personalValuesOf({ subjectName: 5, subjectAlternativeNames: [null, { value: 3 }] })).toEqual([]);
  });
});

describe('logLineFor', () => {
  it('replaces the request’s values by the pseudonym telemetry uses, in every spelling a message quotes', () => {
    const message = request();
    expect(
      line(message, `request r-1: failed POLICY_MISMATCH: upn "IWUSER0@contoso.com" is not ${MAIL}`),
    ).toBe(
      `request r-1: failed POLICY_MISMATCH: upn "${pseudonymize('iwuser0@contoso.com')}" is not ${pseudonymize(MAIL)}`,
    );
    expect(line(message, `subjectName "CN=Iwan User,E=${MAIL}" has CN Iwan User`)).toBe(
      `subjectName "${pseudonymize(`CN=Iwan User,E=${MAIL}`)}" has CN ${pseudonymize('Iwan User')}`,
    );
    expect(line(message, `the CA refused &lt;${SID}&gt; for ${SID}`)).toBe(
      `the CA refused &lt;${pseudonymize(SID)}&gt; for ${pseudonymize(SID)}`,
    );
  });

  it('redacts what validation really says about a hostile address, and escapes its bidi character', () => {
    const hostile = 'h04\u202E@contoso.com';
    const message = request({
      subjectName: `CN=${hostile}`,
      subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: hostile }],
    });
    let said = '';
    try {
      parseRequestMessage(message, { caAllowedHosts: ['pki-ws.symauth.com'] });
      said = 'accepted';
    } catch (error) {
      said = (error as BrokerError).message;
    }
    const logged = line(message, `request r-1: failed INVALID_REQUEST: ${said} ("${hostile}")`);
    expect(logged).not.toContain('h04');
    expect(logged).not.toMatch(/[\u202A-\u202E]/u);
    expect(logged).toContain(pseudonymize(hostile));
  });

  it('replaces a value cut at 80 characters as a quote cuts it, and a JSON-escaped one', () => {
    const long = `${'a'.repeat(90)}@contoso.com`;
    const message = request({ subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: long }] });
    expect(line(message, `value "${long.slice(0, 80)}…" is too long`)).toBe(
      `value "${pseudonymize(long)}…" is too long`,
    );
    const quoted = 'Jane "JJ" Doe';
    const withQuote = request({ subjectName: `CN=${quoted}` });
    expect(line(withQuote, `CN ${JSON.stringify(quoted)}`)).toBe(`CN "${pseudonymize(quoted)}"`);
  });

  it('replaces other addresses and SIDs too (a CA’s text, a comment), but keeps the requestId', () => {
    const keep = logLineFor({}, { includePersonalData: false, keep: ['id@with.at'] });
    expect(
      keep('request id@with.at: the CA said user "x.y@fabrikam.com" and S-1-5-21-1-2-3-4 are unknown.'),
    ).toBe(
      `request id@with.at: the CA said user "${pseudonymize('x.y@fabrikam.com')}" and ${pseudonymize('S-1-5-21-1-2-3-4')} are unknown.`,
    );
  });

  it('leaves words alone that only contain a value, and values shorter than three characters', () => {
    const message = request({ subjectName: 'CN=Ann,E=ann@x.org', subjectAlternativeNames: [] });
    expect(line(message, 'Annual report by Ann for a, Jo')).toBe(
      `Annual report by ${pseudonymize('Ann')} for a, Jo`,
    );
  });

  it('logs the values as they are when TELEMETRY_INCLUDE_PERSONAL_DATA allows, still escaped', () => {
    const allowed = logLineFor(request(), { includePersonalData: true });
    expect(allowed(`failed: ${MAIL}\u202E\n`)).toBe(`failed: ${MAIL}<U+202E><U+000A>`);
  });
});

describe('logLineFor on hostile input', () => {
  it('cuts a line at MAX_LOG_LINE characters and says how much was left out', () => {
    const logged = line({}, 'x'.repeat(MAX_LOG_LINE + 10));
    expect(logged).toBe(`${'x'.repeat(MAX_LOG_LINE)}… (10 more characters)`);
  });

  it('takes no more than linear time: long runs of spaces, @, dots, SID parts, a spaced-out value', () => {
    const spaced = 'a '.repeat(1995);
    const cases: [unknown, string][] = [
      [{ subjectName: `CN=a,${' '.repeat(60_000)}` }, 'x'],
      [{}, 'a'.repeat(60_000)],
      [{}, 'a@'.repeat(30_000)],
      [{}, `x@${'a.'.repeat(30_000)}`],
      [{}, `S-1-${'1-'.repeat(30_000)}`],
      [
        { subjectName: `CN=${spaced}`, subjectAlternativeNames: [{ value: `${spaced}b` }] },
        'a '.repeat(30_000),
      ],
    ];
    for (const [message, text] of cases) {
      const started = Date.now();
      line(message, text);
      // Quadratic matching took minutes here; linear takes milliseconds (room for a loaded machine).
      expect(Date.now() - started).toBeLessThan(3000);
    }
  });
});

describe('loggableFailure', () => {
  it('carries the error’s words as a log line, under its name', () => {
    const failure = loggableFailure(
      new BrokerError('CA_UNAVAILABLE', `no answer for ${MAIL}\u202E`),
      logLineFor(request(), { includePersonalData: false }),
    );
    expect(failure.message).toBe(`no answer for ${pseudonymize(MAIL)}<U+202E>`);
    expect(failure.name).toBe(new BrokerError('CA_UNAVAILABLE', 'x').name);
  });
});

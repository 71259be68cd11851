import { DEFAULT_REMEDIES } from '../../../shared/contract/errors';
import { parseSubjectName, type ParsedSubjectName } from '../../../shared/mapping';
import { expectBrokerError } from './fixtures';

describe('parseSubjectName: the three formats of the seed', () => {
  const accepted: [string, ParsedSubjectName][] = [
    ['CN=IWUser0', { commonName: 'IWUser0', format: 'CN' }],
    [
      'CN=IWUser0,E=IWUser0@contoso.onmicrosoft.com',
      { commonName: 'IWUser0', email: 'IWUser0@contoso.onmicrosoft.com', format: 'CN,E' },
    ],
    [
      'E=IWUser0@contoso.onmicrosoft.com,CN=IWUser0',
      { commonName: 'IWUser0', email: 'IWUser0@contoso.onmicrosoft.com', format: 'CN,E' },
    ],
    [
      'CN=IWUser0@contoso.onmicrosoft.com',
      {
        commonName: 'IWUser0@contoso.onmicrosoft.com',
        email: 'IWUser0@contoso.onmicrosoft.com',
        format: 'CN-as-email',
      },
    ],
    // Spacing, as in the seed's "CN = IWUser0" and Windows' ", " separators.
    [' CN = IWUser0 , E = u@contoso.com ', { commonName: 'IWUser0', email: 'u@contoso.com', format: 'CN,E' }],
    ['CN=Jan de Vries', { commonName: 'Jan de Vries', format: 'CN' }],
    // Key case and synonyms.
    ['cn=a,email=u@contoso.com', { commonName: 'a', email: 'u@contoso.com', format: 'CN,E' }],
    ['Cn=a, emailAddress=u@contoso.com', { commonName: 'a', email: 'u@contoso.com', format: 'CN,E' }],
    ['CN=a;E=u@contoso.com', { commonName: 'a', email: 'u@contoso.com', format: 'CN,E' }],
    ['OID.2.5.4.3=a', { commonName: 'a', format: 'CN' }],
    // RFC 4514 escapes and quoting.
    ['CN=Vries\\, Jan de', { commonName: 'Vries, Jan de', format: 'CN' }],
    ['CN=a\\+b\\=c\\;d\\\\e', { commonName: 'a+b=c;d\\e', format: 'CN' }],
    ['CN=Ren\\C3\\A9 M\\c3\\bcller', { commonName: 'René Müller', format: 'CN' }],
    ['CN=\\ padded\\ ', { commonName: ' padded ', format: 'CN' }],
    [
      'CN="Vries, Jan de",E=j@contoso.com',
      { commonName: 'Vries, Jan de', email: 'j@contoso.com', format: 'CN,E' },
    ],
    ['CN=Zoë Ångström', { commonName: 'Zoë Ångström', format: 'CN' }],
    ['CN=名前 😀', { commonName: '名前 😀', format: 'CN' }],
  ];
  it.each(accepted)('%s', (subject, expected) => {
    expect(parseSubjectName(subject)).toEqual(expected);
  });
});

describe('parseSubjectName: refused subjects', () => {
  const refused: [string, string][] = [
    ['CN=IWUser0,O=Contoso', 'contains the attribute "O"'],
    ['OU=Sales,CN=IWUser0', 'contains the attribute "OU"'],
    ['CN=IWUser0,E=u@contoso.com,C=NL', 'contains the attribute "C"'],
    ['CN=', 'has an empty CN'],
    ['CN=   ', 'has an empty CN'],
    ['CN=a,CN=b', 'contains CN more than once'],
    ['CN=a,E=u@contoso.com,EMAIL=v@contoso.com', 'more than once'],
    ['E=u@contoso.com', 'has no CN'],
    ['', 'is empty'],
    ['IWUser0', 'without "="'],
    ['CN=a+E=u@contoso.com', 'multi-valued RDN'],
    ['CN=a,', 'ends with a separator'],
    ['CN=a\\', 'lone backslash'],
    ['CN=a\\q', 'invalid escape'],
    ['CN=\\C3\\28', 'not valid UTF-8'],
    ['CN=#04024869', 'hex-encoded'],
    ['CN="unterminated', 'unterminated quoted value'],
    ['=x', 'no name'],
  ];
  it.each(refused)('%s → POLICY_MISMATCH (%s)', (subject, problem) => {
    const error = expectBrokerError(() => parseSubjectName(subject), {
      code: 'POLICY_MISMATCH',
      message: [
        'subjectName',
        problem,
        'CN=<name>',
        'CN=<e-mail>',
        'fixed values in the DigiCert certificate profile',
      ],
      remedy: ['must be a fixed value in the DigiCert certificate profile'],
    });
    expect(error.remedy).not.toBe(DEFAULT_REMEDIES.INVALID_REQUEST);
  });

  it('does not echo the value of a refused attribute', () => {
    const error = expectBrokerError(() => parseSubjectName('CN=a,O=Secret Project X'), {
      code: 'POLICY_MISMATCH',
      message: ['"O"'],
    });
    expect(error.message).not.toContain('Secret Project X');
  });

  it.each(['CN=a,E=not-an-address', 'CN=a,E=two@@contoso.com', 'CN=a,E=@contoso.com'])(
    '%s → INVALID_REQUEST: E= must be an e-mail address',
    (subject) => {
      expectBrokerError(() => parseSubjectName(subject), {
        code: 'INVALID_REQUEST',
        message: ['subjectName', 'E=', 'local@domain'],
      });
    },
  );
});

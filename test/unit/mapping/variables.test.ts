import {
  collectPolicyVariables,
  decideVariableSource,
  formatSource,
  parseSourceName,
  variableNameOf,
  type PolicyVariable,
  type VariableOccurrence,
  type VariableSource,
} from '../../../shared/mapping';
import { OID_UPN } from '../../../shared/crypto/csr';
import { GUID_OID, attribute, expectBrokerError, intuneUserPolicy, policyWith } from './fixtures';

describe('parseSourceName', () => {
  const known: [string, VariableSource][] = [
    ['commonName', { kind: 'commonName' }],
    ['COMMONNAME', { kind: 'commonName' }],
    ['email', { kind: 'email' }],
    ['upn', { kind: 'upn' }],
    ['subjectEmail', { kind: 'subjectEmail' }],
    ['firstName', { kind: 'firstName' }],
    [' lastName ', { kind: 'lastName' }],
    ['otherName', { kind: 'otherName' }],
    ['otherName:1.3.6.1.4.1.311.25.1', { kind: 'otherName', oid: '1.3.6.1.4.1.311.25.1' }],
    ['const:Contoso Ltd', { kind: 'const', text: 'Contoso Ltd' }],
    ['const:a:b', { kind: 'const', text: 'a:b' }],
  ];
  it.each(known)('%s', (text, expected) => {
    expect(parseSourceName(text)).toEqual(expected);
  });

  it.each(['mail', 'otherName:guid', 'otherName:', 'const:', 'unknown:x', ''])('%p is no source', (text) => {
    expect(parseSourceName(text)).toBeUndefined();
  });

  it('formats back what it parses', () => {
    for (const text of ['commonName', 'otherName:1.2.3', 'const:x y']) {
      const source = parseSourceName(text);
      expect(source === undefined ? undefined : formatSource(source)).toBe(text);
    }
  });
});

describe('variableNameOf', () => {
  it.each([
    ['$common_name', 'common_name'],
    [' $mail_email ', 'mail_email'],
    ['Contoso Ltd', undefined],
    ['$', undefined],
    ['', undefined],
    ['$a.b:c-d', 'a.b:c-d'],
    // A value with more than one variable, or text around it, is a template: no single variable.
    ['$mail_firstname $mail_lastname', undefined],
    ['$user@contoso.com', undefined],
    ['Dept $dept', undefined],
  ])('%p → %p', (value, expected) => {
    expect(variableNameOf(value)).toBe(expected);
  });
});

describe('collectPolicyVariables', () => {
  it('lists each variable once, with every place it sits, mandatory if any place is', () => {
    const variables = collectPolicyVariables(intuneUserPolicy());
    expect(variables.map((variable) => [variable.name, variable.mandatory])).toEqual([
      ['common_name', true],
      ['mail_email', true],
      ['otherNameUPN', true],
      ['otherNameGUID', false],
    ]);
    const mailEmail = variables.find((variable) => variable.name === 'mail_email');
    expect(
      mailEmail?.occurrences.map((occurrence) => [occurrence.location, occurrence.attributeName]),
    ).toEqual([
      ['subject', 'e'],
      ['san', 'rfc822Name'],
      ['seatId', 'seatIdInfo'],
    ]);
  });

  const cases: {
    name: string;
    policy: Parameters<typeof collectPolicyVariables>[0];
    expected: [name: string, mandatory: boolean, where: [string, boolean][]][];
  }[] = [
    {
      name: 'a value holding two variables yields both, neither the whole value',
      policy: policyWith({
        subjectAttributes: [attribute('cn', '"$mail_firstname $mail_lastname"', true)],
      }),
      expected: [
        ['mail_firstname', true, [['cn', false]]],
        ['mail_lastname', true, [['cn', false]]],
      ],
    },
    {
      name: "DigiCert's default CN: two cn pairs, each a part of the one CN",
      policy: policyWith({
        subjectAttributes: [
          attribute('cn', '$mail_firstName', true),
          attribute('cn', '$mail_lastName', false),
          attribute('ou', '$department', false),
        ],
      }),
      expected: [
        ['mail_firstName', true, [['cn', false]]],
        ['mail_lastName', false, [['cn', false]]],
        ['department', false, [['ou', true]]],
      ],
    },
    {
      name: 'names compare case-insensitively; the first spelling is kept',
      policy: policyWith({
        subjectAttributes: [attribute('e', '$Mail_Email', false)],
        sanAttributes: [attribute('rfc822Name', '$mail_email', true)],
        seatId: { value: '$MAIL_EMAIL', mandatory: true },
      }),
      expected: [
        [
          'Mail_Email',
          true,
          [
            ['e', true],
            ['rfc822Name', true],
            ['seatIdInfo', true],
          ],
        ],
      ],
    },
    {
      name: 'text around a variable makes it a part; a repeated variable is one occurrence',
      policy: policyWith({ sanAttributes: [attribute('rfc822Name', '$user+$user@contoso.com', true)] }),
      expected: [['user', true, [['rfc822Name', false]]]],
    },
    {
      name: 'fixed values hold no variable',
      policy: policyWith({ subjectAttributes: [attribute('o', 'Contoso $ Ltd', true)] }),
      expected: [],
    },
  ];
  it.each(cases)('$name', ({ policy, expected }) => {
    expect(
      collectPolicyVariables(policy).map((variable) => [
        variable.name,
        variable.mandatory,
        variable.occurrences.map((occurrence) => [occurrence.attributeName, occurrence.wholeValue]),
      ]),
    ).toEqual(expected);
  });
});

function variable(name: string, occurrences: Partial<VariableOccurrence>[]): PolicyVariable {
  const full = occurrences.map((occurrence): VariableOccurrence => ({
    location: 'subject',
    attributeName: 'x',
    mandatory: true,
    wholeValue: true,
    ...occurrence,
  }));
  return { name, mandatory: full.some((occurrence) => occurrence.mandatory), occurrences: full };
}

describe('decideVariableSource: field map, then SAN attribute, then well-known name, then subject attribute', () => {
  const byAttribute = (kind: VariableSource['kind']): ReturnType<typeof decideVariableSource> =>
    ({ source: { kind }, decidedBy: 'attribute' }) as ReturnType<typeof decideVariableSource>;
  const cases: {
    name: string;
    variable: PolicyVariable;
    fieldMap?: Record<string, string>;
    expected: ReturnType<typeof decideVariableSource>;
  }[] = [
    {
      name: 'field map wins over the attribute',
      variable: variable('common_name', [{ attributeName: 'cn' }]),
      fieldMap: { common_name: 'upn' },
      expected: { source: { kind: 'upn' }, decidedBy: 'PROFILE_FIELD_MAP' },
    },
    {
      name: 'field map keys compare case-insensitively and may carry $',
      variable: variable('User_Mail', [{ location: 'san', attributeName: 'dnsName' }]),
      fieldMap: { $user_mail: 'email' },
      expected: { source: { kind: 'email' }, decidedBy: 'PROFILE_FIELD_MAP' },
    },
    {
      name: 'field map otherName on an otherName field takes its type',
      variable: variable('guid', [{ location: 'san', attributeName: 'otherName', type: GUID_OID }]),
      fieldMap: { guid: 'otherName' },
      expected: { source: { kind: 'otherName', oid: GUID_OID }, decidedBy: 'PROFILE_FIELD_MAP' },
    },
    {
      name: 'field map otherName on an otherName field of the UPN type takes the request otherName',
      variable: variable('principal', [{ location: 'san', attributeName: 'otherName', type: OID_UPN }]),
      fieldMap: { principal: 'otherName' },
      expected: { source: { kind: 'otherName', oid: OID_UPN }, decidedBy: 'PROFILE_FIELD_MAP' },
    },
    {
      name: 'subject cn → commonName for a name the broker does not know',
      variable: variable('whatever', [{ attributeName: 'CN' }]),
      expected: byAttribute('commonName'),
    },
    // The well-known name beats the subject field it sits on: DigiCert's default CN is cn=$mail_firstName +
    // cn=$mail_lastName, and cn=$mail_email means the e-mail, not the whole CN.
    ...(
      [
        ['mail_firstName', 'firstName'],
        ['mail_lastname', 'lastName'],
        ['mail_email', 'email'],
        ['Mail_Email', 'email'],
        ['upn', 'upn'],
      ] as const
    ).map(([name, kind]) => ({
      name: `$${name} on subject cn → ${kind} by its name`,
      variable: variable(name, [{ attributeName: 'cn' }]),
      expected: { source: { kind }, decidedBy: 'variable name' as const },
    })),
    {
      name: '$common_name on subject e → commonName by its name',
      variable: variable('common_name', [{ attributeName: 'e' }]),
      expected: { source: { kind: 'commonName' }, decidedBy: 'variable name' },
    },
    ...['e', 'email', 'emailAddress', 'mail', 'E-Mail', 'email_address', '1.2.840.113549.1.9.1'].map(
      (attributeName) => ({
        name: `subject ${attributeName} → email`,
        variable: variable('whatever', [{ attributeName }]),
        expected: byAttribute('email'),
      }),
    ),
    ...['cn', 'commonName', 'Common Name', 'common_name', '2.5.4.3', 'OID.2.5.4.3'].map((attributeName) => ({
      name: `subject ${attributeName} → commonName`,
      variable: variable('whatever', [{ attributeName }]),
      expected: byAttribute('commonName'),
    })),
    ...['rfc822Name', 'RFC822', 'email', 'mail', 'emailAddress', 'E-mail'].map((attributeName) => ({
      name: `SAN ${attributeName} → email`,
      variable: variable('whatever', [{ location: 'san' as const, attributeName }]),
      expected: byAttribute('email'),
    })),
    ...[
      'otherNameUPN',
      'upn',
      'userPrincipalName',
      'User Principal Name',
      'msUPN',
      'principal_name',
      'other-name-UPN',
    ].map((attributeName) => ({
      name: `SAN ${attributeName} → upn`,
      variable: variable('whatever', [{ location: 'san' as const, attributeName }]),
      expected: byAttribute('upn'),
    })),
    {
      name: 'SAN attribute beats the well-known name: $common_name on rfc822Name → email',
      variable: variable('common_name', [{ location: 'san', attributeName: 'rfc822Name' }]),
      expected: byAttribute('email'),
    },
    {
      name: 'SAN otherName → otherName of its type',
      variable: variable('x', [{ location: 'san', attributeName: 'otherName', type: GUID_OID }]),
      expected: { source: { kind: 'otherName', oid: GUID_OID }, decidedBy: 'attribute' },
    },
    {
      name: 'SAN other_name (spelling) → otherName of its type',
      variable: variable('x', [{ location: 'san', attributeName: 'Other_Name', type: GUID_OID }]),
      expected: { source: { kind: 'otherName', oid: GUID_OID }, decidedBy: 'attribute' },
    },
    {
      name: 'SAN otherName of the UPN type → the request UPN, not a request otherName',
      variable: variable('x', [{ location: 'san', attributeName: 'otherName', type: OID_UPN }]),
      expected: byAttribute('upn'),
    },
    {
      name: 'SAN otherName without an OID type → otherName',
      variable: variable('x', [{ location: 'san', attributeName: 'otherName', type: 'VT_UTF8_STRING' }]),
      expected: { source: { kind: 'otherName' }, decidedBy: 'attribute' },
    },
    {
      name: 'SAN dnsName tells nothing',
      variable: variable('x', [{ location: 'san', attributeName: 'dnsName' }]),
      expected: undefined,
    },
    {
      name: 'a SAN field beats a subject field that comes first in the profile',
      variable: variable('x', [
        { attributeName: 'cn' },
        { location: 'san', attributeName: 'rfc822Name' },
        { location: 'seatId', attributeName: 'seatIdInfo' },
      ]),
      expected: byAttribute('email'),
    },
    {
      name: 'the first telling SAN field decides',
      variable: variable('x', [
        { location: 'san', attributeName: 'dnsName' },
        { location: 'san', attributeName: 'upn' },
        { location: 'san', attributeName: 'rfc822Name' },
      ]),
      expected: byAttribute('upn'),
    },
    {
      name: 'a variable that is only part of a subject field is not the whole CN',
      variable: variable('given', [{ attributeName: 'cn', wholeValue: false }]),
      expected: undefined,
    },
    {
      name: 'a variable that is only part of a SAN address is not the whole e-mail',
      variable: variable('user', [{ location: 'san', attributeName: 'rfc822Name', wholeValue: false }]),
      expected: undefined,
    },
    {
      name: 'a part of a field still goes by its well-known name',
      variable: variable('mail_firstName', [{ attributeName: 'cn', wholeValue: false }]),
      expected: { source: { kind: 'firstName' }, decidedBy: 'variable name' },
    },
    ...(
      [
        ['common_name', 'commonName'],
        ['mail_email', 'email'],
        ['emailAddress', 'email'],
        ['email', 'email'],
        ['MAIL', 'email'],
        ['otherNameUPN', 'upn'],
        ['upn', 'upn'],
        ['mail_firstName', 'firstName'],
        ['MAIL_FIRSTNAME', 'firstName'],
        ['mail_lastname', 'lastName'],
        ['seat_id', 'email'],
      ] as const
    ).map(([name, kind]) => ({
      name: `well-known variable ${name} → ${kind}`,
      variable: variable(name, [{ attributeName: 'ou' }]),
      expected: { source: { kind }, decidedBy: 'variable name' as const },
    })),
    {
      name: 'unknown everywhere → undefined',
      variable: variable('employeeID', [{ attributeName: 'ou' }]),
      fieldMap: { other: 'email' },
      expected: undefined,
    },
  ];
  it.each(cases)('$name', ({ variable: subject, fieldMap, expected }) => {
    expect(decideVariableSource(subject, fieldMap ?? {})).toEqual(expected);
  });

  it('a field-map entry naming no known source is a POLICY_MISMATCH naming PROFILE_FIELD_MAP', () => {
    expectBrokerError(
      () => decideVariableSource(variable('user_mail', [{ attributeName: 'e' }]), { user_mail: 'mail' }),
      {
        code: 'POLICY_MISMATCH',
        message: ['PROFILE_FIELD_MAP', '$user_mail', '"mail"'],
        remedy: ['PROFILE_FIELD_MAP["user_mail"]', 'commonName', 'const:<text>'],
      },
    );
  });
});

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
import { GUID_OID, expectBrokerError, intuneUserPolicy } from './fixtures';

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
});

function variable(name: string, occurrences: Partial<VariableOccurrence>[]): PolicyVariable {
  const full = occurrences.map((occurrence): VariableOccurrence => ({
    location: 'subject',
    attributeName: 'x',
    mandatory: true,
    ...occurrence,
  }));
  return { name, mandatory: full.some((occurrence) => occurrence.mandatory), occurrences: full };
}

describe('decideVariableSource: field map, then attribute, then name', () => {
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
      name: 'subject cn → commonName, whatever the variable is called',
      variable: variable('mail_email', [{ attributeName: 'CN' }]),
      expected: { source: { kind: 'commonName' }, decidedBy: 'attribute' },
    },
    ...['e', 'email', 'emailAddress', 'mail'].map((attributeName) => ({
      name: `subject ${attributeName} → email`,
      variable: variable('whatever', [{ attributeName }]),
      expected: { source: { kind: 'email' as const }, decidedBy: 'attribute' as const },
    })),
    ...['rfc822Name', 'email'].map((attributeName) => ({
      name: `SAN ${attributeName} → email`,
      variable: variable('whatever', [{ location: 'san' as const, attributeName }]),
      expected: { source: { kind: 'email' as const }, decidedBy: 'attribute' as const },
    })),
    ...['otherNameUPN', 'upn', 'userPrincipalName'].map((attributeName) => ({
      name: `SAN ${attributeName} → upn`,
      variable: variable('whatever', [{ location: 'san' as const, attributeName }]),
      expected: { source: { kind: 'upn' as const }, decidedBy: 'attribute' as const },
    })),
    {
      name: 'SAN otherName → otherName of its type',
      variable: variable('x', [{ location: 'san', attributeName: 'otherName', type: GUID_OID }]),
      expected: { source: { kind: 'otherName', oid: GUID_OID }, decidedBy: 'attribute' },
    },
    {
      name: 'SAN otherName without an OID type → otherName',
      variable: variable('x', [{ location: 'san', attributeName: 'otherName', type: 'VT_UTF8_STRING' }]),
      expected: { source: { kind: 'otherName' }, decidedBy: 'attribute' },
    },
    {
      name: 'the first telling occurrence decides',
      variable: variable('x', [
        { attributeName: 'o' },
        { location: 'san', attributeName: 'rfc822Name' },
        { location: 'seatId', attributeName: 'seatIdInfo' },
      ]),
      expected: { source: { kind: 'email' }, decidedBy: 'attribute' },
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

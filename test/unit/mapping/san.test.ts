import type { SubjectAlternativeName } from '../../../shared/contract/types';
import { parseSubjectName, resolveSanValues, type AddressOrigin } from '../../../shared/mapping';
import {
  SEED_OTHERNAME_BASE64,
  SEED_OTHERNAME_HEX,
  email,
  expectBrokerError,
  otherName,
  upn,
} from './fixtures';

type Expected = { value: string; origin: AddressOrigin; field: string } | undefined;

describe('resolveSanValues: the seed fallbacks', () => {
  const cases: {
    name: string;
    subject: string;
    sans?: SubjectAlternativeName[];
    email: Expected;
    upn: Expected;
  }[] = [
    {
      name: 'both present: each its own',
      subject: 'CN=u',
      sans: [email('mail@contoso.com'), upn('upn@contoso.onmicrosoft.com')],
      email: {
        value: 'mail@contoso.com',
        origin: 'AltNameTypeEmail',
        field: 'subjectAlternativeNames[0].value',
      },
      upn: {
        value: 'upn@contoso.onmicrosoft.com',
        origin: 'AltNameTypeUpn',
        field: 'subjectAlternativeNames[1].value',
      },
    },
    {
      name: 'e-mail missing: e-mail ← UPN',
      subject: 'CN=u,E=subject@contoso.com',
      sans: [upn('upn@contoso.onmicrosoft.com')],
      email: {
        value: 'upn@contoso.onmicrosoft.com',
        origin: 'AltNameTypeUpn',
        field: 'subjectAlternativeNames[0].value',
      },
      upn: {
        value: 'upn@contoso.onmicrosoft.com',
        origin: 'AltNameTypeUpn',
        field: 'subjectAlternativeNames[0].value',
      },
    },
    {
      name: 'UPN missing: UPN ← e-mail',
      subject: 'CN=u,E=subject@contoso.com',
      sans: [email('mail@contoso.com')],
      email: {
        value: 'mail@contoso.com',
        origin: 'AltNameTypeEmail',
        field: 'subjectAlternativeNames[0].value',
      },
      upn: {
        value: 'mail@contoso.com',
        origin: 'AltNameTypeEmail',
        field: 'subjectAlternativeNames[0].value',
      },
    },
    {
      name: 'both missing: both ← subject E=',
      subject: 'CN=u,E=subject@contoso.com',
      sans: [],
      email: { value: 'subject@contoso.com', origin: 'subjectName', field: 'subjectName' },
      upn: { value: 'subject@contoso.com', origin: 'subjectName', field: 'subjectName' },
    },
    {
      name: 'both missing: both ← CN that is an e-mail',
      subject: 'CN=cn@contoso.com',
      email: { value: 'cn@contoso.com', origin: 'subjectName', field: 'subjectName' },
      upn: { value: 'cn@contoso.com', origin: 'subjectName', field: 'subjectName' },
    },
    {
      name: 'empty SAN values count as absent',
      subject: 'CN=u,E=subject@contoso.com',
      sans: [email('  '), upn('')],
      email: { value: 'subject@contoso.com', origin: 'subjectName', field: 'subjectName' },
      upn: { value: 'subject@contoso.com', origin: 'subjectName', field: 'subjectName' },
    },
    {
      name: 'the first entry of a type counts',
      subject: 'CN=u',
      sans: [email('first@contoso.com'), email('second@contoso.com')],
      email: {
        value: 'first@contoso.com',
        origin: 'AltNameTypeEmail',
        field: 'subjectAlternativeNames[0].value',
      },
      upn: {
        value: 'first@contoso.com',
        origin: 'AltNameTypeEmail',
        field: 'subjectAlternativeNames[0].value',
      },
    },
    { name: 'all empty: nothing', subject: 'CN=Plain Name', sans: [], email: undefined, upn: undefined },
    { name: 'no SAN list, plain CN: nothing', subject: 'CN=Plain Name', email: undefined, upn: undefined },
  ];

  it.each(cases)('$name', ({ subject, sans, email: expectedEmail, upn: expectedUpn }) => {
    const resolved = resolveSanValues(sans, parseSubjectName(subject));
    expect(resolved.email).toEqual(expectedEmail);
    expect(resolved.upn).toEqual(expectedUpn);
  });

  it('keeps the subject e-mail apart', () => {
    const resolved = resolveSanValues(
      [email('mail@contoso.com')],
      parseSubjectName('CN=u,E=subject@contoso.com'),
    );
    expect(resolved.subjectEmail?.value).toBe('subject@contoso.com');
    expect(resolveSanValues([], parseSubjectName('CN=u')).subjectEmail).toBeUndefined();
  });
});

describe('resolveSanValues: validation', () => {
  const subject = parseSubjectName('CN=u');

  it.each([
    [[email('not an address')], 'subjectAlternativeNames[0].value', 'AltNameTypeEmail'],
    [[email('ok@contoso.com'), upn('IWUser0')], 'subjectAlternativeNames[1].value', 'AltNameTypeUpn'],
    [[upn('ok@contoso.com'), email('a@b@c')], 'subjectAlternativeNames[1].value', 'AltNameTypeEmail'],
    [[email('user@')], 'subjectAlternativeNames[0].value', 'AltNameTypeEmail'],
    [[email('user@contoso..com')], 'subjectAlternativeNames[0].value', 'AltNameTypeEmail'],
  ] as [SubjectAlternativeName[], string, string][])(
    '%j → INVALID_REQUEST naming %s',
    (sans, field, type) => {
      expectBrokerError(() => resolveSanValues(sans, subject), {
        code: 'INVALID_REQUEST',
        message: [field, type, 'local@domain'],
      });
    },
  );

  it('refuses an unknown SAN type, naming the field', () => {
    const sans = [{ type: 'AltNameTypeDns', value: 'host.contoso.com' } as unknown as SubjectAlternativeName];
    expectBrokerError(() => resolveSanValues(sans, subject), {
      code: 'INVALID_REQUEST',
      message: ['subjectAlternativeNames[0].type', 'AltNameTypeDns'],
    });
  });

  it('refuses an otherName oid that is not dotted decimal', () => {
    expectBrokerError(() => resolveSanValues([otherName(SEED_OTHERNAME_HEX, 'objectGUID')], subject), {
      code: 'INVALID_REQUEST',
      message: ['subjectAlternativeNames[0].oid', 'OID'],
    });
  });

  it('decodes every otherName, checked, with its index', () => {
    const resolved = resolveSanValues(
      [email('a@contoso.com'), otherName(SEED_OTHERNAME_HEX, '1.3.6.1.4.1.311.25.1'), otherName('0500')],
      subject,
    );
    expect(
      resolved.otherNames.map((entry) => [entry.index, entry.field, entry.oid, entry.value.base64]),
    ).toEqual([
      [1, 'subjectAlternativeNames[1].value', '1.3.6.1.4.1.311.25.1', SEED_OTHERNAME_BASE64],
      [2, 'subjectAlternativeNames[2].value', undefined, 'BQA='],
    ]);
    expectBrokerError(() => resolveSanValues([email('a@contoso.com'), otherName('04 02 00')], subject), {
      code: 'OTHERNAME_INVALID',
      message: ['subjectAlternativeNames[1].value'],
    });
  });
});

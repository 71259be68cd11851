import { DEFAULT_REMEDIES } from '../../../shared/contract/errors';
import { OID_UPN } from '../../../shared/crypto/csr';
import type { ProfilePolicy } from '../../../shared/digicert/types';
import { planEnrollment, type EnrollmentPlan } from '../../../shared/mapping';
import {
  GUID_OID,
  SEED_OTHERNAME_BASE64,
  SEED_OTHERNAME_HEX,
  attribute,
  email,
  expectBrokerError,
  firstLastNamePolicy,
  intuneUserPolicy,
  otherName,
  policyWith,
  requestWith,
  upn,
  type ExpectedError,
} from './fixtures';

const USER = 'IWUser0@contoso.onmicrosoft.com';
const SEED_DER = Buffer.from(SEED_OTHERNAME_BASE64, 'base64');
const OTHER_OID = '1.2.3.4.5';

function pairs(plan: EnrollmentPlan): Record<string, string> {
  const names = plan.nameValuePairs.map((pair) => pair.name);
  expect(new Set(names).size).toBe(names.length); // every pair once
  return Object.fromEntries(plan.nameValuePairs.map((pair) => [pair.name, pair.value]));
}

describe('planEnrollment on a profile modelled on the sample policy', () => {
  it('maps the contract example request', () => {
    const request = requestWith(`CN=IWUser0,E=${USER}`, [
      email(USER),
      upn(USER),
      otherName(SEED_OTHERNAME_HEX, GUID_OID),
    ]);
    const plan = planEnrollment(request, intuneUserPolicy(), {});
    expect(plan).toEqual<EnrollmentPlan>({
      csrSubject: [
        { shortName: 'CN', value: 'IWUser0' },
        { shortName: 'E', value: USER },
        { shortName: 'O', value: 'Contoso Ltd' },
      ],
      csrSan: [
        { kind: 'email', value: USER },
        { kind: 'upn', value: USER },
        { kind: 'otherName', oid: GUID_OID, valueDer: SEED_DER },
      ],
      nameValuePairs: [
        { name: 'seat_id', value: USER },
        { name: 'common_name', value: 'IWUser0' },
        { name: 'mail_email', value: USER },
        { name: 'otherNameUPN', value: USER },
        { name: 'otherNameGUID', value: SEED_OTHERNAME_BASE64 },
      ],
      seatId: USER,
      // The account a SID must belong to (SID_VERIFY_WITH_GRAPH), with the field it came from.
      upn: { value: USER, origin: 'AltNameTypeUpn', field: 'subjectAlternativeNames[1].value' },
      keySize: 2048,
    });
  });

  it('sends $mail_email once though it sits in subject E, SAN rfc822Name and seatIdInfo; fixed O is not sent', () => {
    const plan = planEnrollment(requestWith(`CN=${USER}`), intuneUserPolicy());
    expect(plan.nameValuePairs.filter((pair) => pair.name === 'mail_email')).toHaveLength(1);
    expect(plan.nameValuePairs.some((pair) => pair.value === 'Contoso Ltd')).toBe(false);
    expect(plan.csrSubject).toContainEqual({ shortName: 'O', value: 'Contoso Ltd' });
  });

  it('leaves out the optional otherName when the request has none', () => {
    const plan = planEnrollment(requestWith(`CN=${USER}`), intuneUserPolicy());
    expect(pairs(plan)).toEqual({ seat_id: USER, common_name: USER, mail_email: USER, otherNameUPN: USER });
    expect(plan.csrSan).toEqual([
      { kind: 'email', value: USER },
      { kind: 'upn', value: USER },
    ]);
  });

  const fallbackCases: {
    name: string;
    subject: string;
    sans: ReturnType<typeof email>[];
    mail: string;
    upn: string;
  }[] = [
    {
      name: 'e-mail ← UPN',
      subject: 'CN=u,E=subject@contoso.com',
      sans: [upn('upn@contoso.com')],
      mail: 'upn@contoso.com',
      upn: 'upn@contoso.com',
    },
    {
      name: 'UPN ← e-mail',
      subject: 'CN=u,E=subject@contoso.com',
      sans: [email('mail@contoso.com')],
      mail: 'mail@contoso.com',
      upn: 'mail@contoso.com',
    },
    {
      name: 'both ← subject E=',
      subject: 'CN=u,E=subject@contoso.com',
      sans: [],
      mail: 'subject@contoso.com',
      upn: 'subject@contoso.com',
    },
    {
      name: 'both ← CN as e-mail',
      subject: 'CN=cn@contoso.com',
      sans: [],
      mail: 'cn@contoso.com',
      upn: 'cn@contoso.com',
    },
    {
      name: 'each its own',
      subject: 'CN=u',
      sans: [upn('upn@contoso.com'), email('mail@contoso.com')],
      mail: 'mail@contoso.com',
      upn: 'upn@contoso.com',
    },
  ];
  it.each(fallbackCases)('fallback: $name', ({ subject, sans, mail, upn: expectedUpn }) => {
    const sent = pairs(planEnrollment(requestWith(subject, sans), intuneUserPolicy()));
    expect(sent.mail_email).toBe(mail);
    expect(sent.seat_id).toBe(mail);
    expect(sent.otherNameUPN).toBe(expectedUpn);
  });

  it('all fallbacks empty → SAN_VALUE_MISSING naming the variable and the fallbacks tried', () => {
    expectBrokerError(() => planEnrollment(requestWith('CN=Plain Name', [email('')]), intuneUserPolicy()), {
      code: 'SAN_VALUE_MISSING',
      message: [
        '$mail_email',
        'SAN attribute "rfc822Name"',
        'seatIdInfo',
        'AltNameTypeEmail, then AltNameTypeUpn, then the subject e-mail',
      ],
    });
  });

  it('UPN needed and absent everywhere → SAN_VALUE_MISSING naming $otherNameUPN with the UPN order', () => {
    const policy = policyWith({ sanAttributes: [attribute('otherNameUPN', '$otherNameUPN', true)] });
    expectBrokerError(() => planEnrollment(requestWith('CN=Plain Name'), policy), {
      code: 'SAN_VALUE_MISSING',
      message: ['$otherNameUPN', 'AltNameTypeUpn, then AltNameTypeEmail, then the subject e-mail'],
    });
  });

  it('the E of the CSR subject is the resolved e-mail when the profile asks for e', () => {
    const plan = planEnrollment(requestWith('CN=u', [upn('upn@contoso.com')]), intuneUserPolicy());
    expect(plan.csrSubject).toEqual([
      { shortName: 'CN', value: 'u' },
      { shortName: 'E', value: 'upn@contoso.com' },
      { shortName: 'O', value: 'Contoso Ltd' },
    ]);
  });
});

describe('planEnrollment: CSR subject', () => {
  const cnOnly = policyWith({ subjectAttributes: [attribute('cn', '$common_name', true)] });
  const cases: {
    name: string;
    subject: string;
    policy: ProfilePolicy;
    expected: EnrollmentPlan['csrSubject'];
  }[] = [
    { name: 'CN', subject: 'CN=Jan', policy: cnOnly, expected: [{ shortName: 'CN', value: 'Jan' }] },
    {
      name: 'CN,E keeps E though the profile has no e',
      subject: 'CN=Jan,E=jan@contoso.com',
      policy: cnOnly,
      expected: [
        { shortName: 'CN', value: 'Jan' },
        { shortName: 'E', value: 'jan@contoso.com' },
      ],
    },
    {
      name: 'CN-as-email adds no E by itself',
      subject: 'CN=jan@contoso.com',
      policy: cnOnly,
      expected: [{ shortName: 'CN', value: 'jan@contoso.com' }],
    },
    {
      name: 'fixed attributes in profile order, with short names',
      subject: 'CN=Jan',
      policy: policyWith({
        subjectAttributes: [
          attribute('c', 'NL', true),
          attribute('st', 'Noord-Holland', true),
          attribute('l', 'Amsterdam', true),
          attribute('o', 'Contoso Ltd', true),
          attribute('ou', 'IT', true),
          attribute('ou', 'Devices', true),
          attribute('cn', '$common_name', true),
          attribute('serialNumber', 'fixed-but-unknown-here', true),
        ],
      }),
      expected: [
        { shortName: 'C', value: 'NL' },
        { shortName: 'ST', value: 'Noord-Holland' },
        { shortName: 'L', value: 'Amsterdam' },
        { shortName: 'O', value: 'Contoso Ltd' },
        { shortName: 'OU', value: 'IT' },
        { shortName: 'OU', value: 'Devices' },
        { shortName: 'CN', value: 'Jan' },
      ],
    },
    {
      name: 'a profile without cn still gets the request CN, first',
      subject: 'CN=Jan',
      policy: policyWith({ subjectAttributes: [attribute('o', 'Contoso Ltd', true)] }),
      expected: [
        { shortName: 'CN', value: 'Jan' },
        { shortName: 'O', value: 'Contoso Ltd' },
      ],
    },
  ];
  it.each(cases)('$name', ({ subject, policy, expected }) => {
    expect(planEnrollment(requestWith(subject), policy).csrSubject).toEqual(expected);
  });

  it('a refused request subject fails the plan with POLICY_MISMATCH', () => {
    expectBrokerError(() => planEnrollment(requestWith('CN=Jan,O=Contoso'), intuneUserPolicy()), {
      code: 'POLICY_MISMATCH',
      message: ['subjectName', '"O"'],
    });
  });
});

describe('planEnrollment: PROFILE_FIELD_MAP and unknown variables', () => {
  const userMailPolicy = policyWith({
    subjectAttributes: [attribute('cn', '$common_name', true)],
    sanAttributes: [attribute('additional_field4', '$user_mail', true)],
  });

  it('a profile with $user_mail fails without a field map, naming the variable, its attribute and an example', () => {
    expectBrokerError(() => planEnrollment(requestWith(`CN=${USER}`), userMailPolicy), {
      code: 'POLICY_MISMATCH',
      message: ['$user_mail', 'SAN attribute "additional_field4"'],
      remedy: [
        'fix SAN attribute "additional_field4" to a constant value in the DigiCert certificate profile',
        'PROFILE_FIELD_MAP={"user_mail":',
      ],
    });
  });

  it('PROFILE_FIELD_MAP={"user_mail":"email"} fills it', () => {
    const plan = planEnrollment(requestWith('CN=u', [email('mail@contoso.com')]), userMailPolicy, {
      fieldMap: { user_mail: 'email' },
    });
    expect(pairs(plan)).toEqual({ common_name: 'u', user_mail: 'mail@contoso.com' });
  });

  it('field map keys compare case-insensitively', () => {
    const plan = planEnrollment(requestWith('CN=u', [email('mail@contoso.com')]), userMailPolicy, {
      fieldMap: { USER_MAIL: 'upn' },
    });
    expect(pairs(plan).user_mail).toBe('mail@contoso.com');
  });

  it('const: fills a variable and reaches the CSR subject', () => {
    const policy = policyWith({
      subjectAttributes: [attribute('cn', '$common_name', true), attribute('c', '$country', true)],
    });
    const plan = planEnrollment(requestWith('CN=u'), policy, { fieldMap: { country: 'const:NL' } });
    expect(pairs(plan)).toEqual({ common_name: 'u', country: 'NL' });
    expect(plan.csrSubject).toEqual([
      { shortName: 'CN', value: 'u' },
      { shortName: 'C', value: 'NL' },
    ]);
  });

  it('the field map can send the CN where the profile asks for an e-mail', () => {
    const plan = planEnrollment(requestWith('CN=Jan', [email('jan@contoso.com')]), intuneUserPolicy(), {
      fieldMap: { mail_email: 'commonName' },
    });
    expect(pairs(plan).mail_email).toBe('Jan');
    // "Jan" is no address: it is sent as a pair but not written into the CSR's rfc822Name.
    expect(plan.csrSan.filter((entry) => entry.kind === 'email')).toEqual([]);
  });

  it('subjectEmail reads only the subject', () => {
    const policy = policyWith({ sanAttributes: [attribute('rfc822Name', '$mail_email', true)] });
    const request = requestWith('CN=u,E=subject@contoso.com', [email('san@contoso.com')]);
    expect(
      pairs(planEnrollment(request, policy, { fieldMap: { mail_email: 'subjectEmail' } })).mail_email,
    ).toBe('subject@contoso.com');
    expectBrokerError(
      () =>
        planEnrollment(requestWith('CN=u', [email('san@contoso.com')]), policy, {
          fieldMap: { mail_email: 'subjectEmail' },
        }),
      { code: 'SAN_VALUE_MISSING', message: ['$mail_email', 'subject e-mail'] },
    );
  });

  it('an unknown mandatory subject variable → POLICY_MISMATCH naming it', () => {
    const policy = policyWith({
      subjectAttributes: [attribute('cn', '$common_name', true), attribute('ou', '$employeeID', true)],
    });
    expectBrokerError(() => planEnrollment(requestWith('CN=u'), policy), {
      code: 'POLICY_MISMATCH',
      message: ['$employeeID', 'subject attribute "ou"'],
      remedy: [
        'constant value in the DigiCert certificate profile',
        'PROFILE_FIELD_MAP={"employeeID":"const:<value>"}',
      ],
    });
  });

  it('an unknown optional variable is left out', () => {
    const policy = policyWith({
      subjectAttributes: [attribute('cn', '$common_name', true), attribute('ou', '$employeeID', false)],
    });
    expect(pairs(planEnrollment(requestWith('CN=u'), policy))).toEqual({ common_name: 'u' });
  });

  it('a bad source in the field map → POLICY_MISMATCH naming PROFILE_FIELD_MAP', () => {
    expectBrokerError(
      () => planEnrollment(requestWith('CN=u'), userMailPolicy, { fieldMap: { user_mail: 'e-mail' } }),
      {
        code: 'POLICY_MISMATCH',
        message: ['PROFILE_FIELD_MAP', '$user_mail'],
      },
    );
  });
});

describe('planEnrollment: seat id', () => {
  const base = { subjectAttributes: [attribute('cn', '$common_name', true)] };
  const request = requestWith('CN=u', [email('mail@contoso.com'), upn('upn@contoso.com')]);

  const cases: {
    name: string;
    policy: ProfilePolicy;
    fieldMap?: Record<string, string>;
    pairs: Record<string, string>;
    seatId?: string;
  }[] = [
    {
      name: '$mail_email: sent as mail_email and as seat_id',
      policy: policyWith({ ...base, seatId: { value: '$mail_email', mandatory: true } }),
      pairs: { seat_id: 'mail@contoso.com', common_name: 'u', mail_email: 'mail@contoso.com' },
      seatId: 'mail@contoso.com',
    },
    {
      name: '$seat_id: sent once, from the e-mail',
      policy: policyWith({ ...base, seatId: { value: '$seat_id', mandatory: true } }),
      pairs: { common_name: 'u', seat_id: 'mail@contoso.com' },
      seatId: 'mail@contoso.com',
    },
    {
      name: '$otherNameUPN: the UPN',
      policy: policyWith({ ...base, seatId: { value: '$otherNameUPN', mandatory: true } }),
      pairs: { seat_id: 'upn@contoso.com', common_name: 'u', otherNameUPN: 'upn@contoso.com' },
      seatId: 'upn@contoso.com',
    },
    {
      name: 'mapped to the common name',
      policy: policyWith({ ...base, seatId: { value: '$seat_id', mandatory: true } }),
      fieldMap: { seat_id: 'commonName' },
      pairs: { common_name: 'u', seat_id: 'u' },
      seatId: 'u',
    },
    {
      name: 'fixed by the profile: not sent',
      policy: policyWith({ ...base, seatId: { value: 'devices@contoso.com', mandatory: true } }),
      pairs: { common_name: 'u' },
      seatId: 'devices@contoso.com',
    },
    {
      name: 'no seatIdInfo: no seat',
      policy: policyWith(base),
      pairs: { common_name: 'u' },
    },
  ];
  it.each(cases)('$name', ({ policy, fieldMap, pairs: expected, seatId }) => {
    const plan = planEnrollment(request, policy, fieldMap === undefined ? {} : { fieldMap });
    expect(pairs(plan)).toEqual(expected);
    expect(plan.seatId).toBe(seatId);
  });

  const failures: { name: string; policy: ProfilePolicy; expected: ExpectedError }[] = [
    {
      name: 'mandatory e-mail seat with every fallback empty → SAN_VALUE_MISSING',
      policy: policyWith({ ...base, seatId: { value: '$seat_id', mandatory: true } }),
      expected: { code: 'SAN_VALUE_MISSING', message: ['$seat_id', 'seatIdInfo', 'AltNameTypeEmail'] },
    },
    {
      name: 'mandatory seat of unknown source → POLICY_MISMATCH',
      policy: policyWith({ ...base, seatId: { value: '$employee_number', mandatory: true } }),
      expected: {
        code: 'POLICY_MISMATCH',
        message: ['$employee_number', 'seatIdInfo'],
        remedy: ['fix the seat id to a constant', 'PROFILE_FIELD_MAP={"employee_number":'],
      },
    },
  ];
  it.each(failures)('$name', ({ policy, expected }) => {
    expectBrokerError(() => planEnrollment(requestWith('CN=Plain Name'), policy), expected);
  });

  it('an optional seat with no value is left out', () => {
    const policy = policyWith({ ...base, seatId: { value: '$seat_id', mandatory: false } });
    const plan = planEnrollment(requestWith('CN=Plain Name'), policy);
    expect(pairs(plan)).toEqual({ common_name: 'Plain Name' });
    expect(plan.seatId).toBeUndefined();
  });
});

describe('planEnrollment: mail_firstName / mail_lastName', () => {
  it('global_admin@intune.onmicrosoft.com → NAME_CHARACTERS_UNSUPPORTED with the seed remedy', () => {
    const error = expectBrokerError(
      () => planEnrollment(requestWith('CN=global_admin@intune.onmicrosoft.com'), firstLastNamePolicy()),
      { code: 'NAME_CHARACTERS_UNSUPPORTED', message: ['$mail_firstName', "'_'", 'position 7'] },
    );
    expect(error.remedy).toBe(DEFAULT_REMEDIES.NAME_CHARACTERS_UNSUPPORTED);
    expect(error.remedy).toContain('CN=<upn>');
  });

  const accepted: [string, string, string][] = [
    ['CN=Zoë Ångström', 'Zoë', 'Ångström'],
    ['CN=José María Núñez', 'José María', 'Núñez'],
    ["CN=Seán O'Brien-Łukasiewicz", 'Seán', "O'Brien-Łukasiewicz"],
    ['CN=jan.de.vries@contoso.com', 'jan', 'de.vries'],
    ['CN=IWUser0@contoso.onmicrosoft.com', 'IWUser0', 'IWUser0'],
  ];
  it.each(accepted)('%s → %s / %s', (subject, firstName, lastName) => {
    const sent = pairs(
      planEnrollment(requestWith(subject, [email('user@contoso.com')]), firstLastNamePolicy()),
    );
    expect(sent.mail_firstName).toBe(firstName);
    expect(sent.mail_lastName).toBe(lastName);
  });

  it('names the last name when only it is refused', () => {
    expectBrokerError(() => planEnrollment(requestWith('CN=Jan Jansen_2'), firstLastNamePolicy()), {
      code: 'NAME_CHARACTERS_UNSUPPORTED',
      message: ['$mail_lastName', "'_'"],
    });
  });

  it('optional name variables with refused characters are left out', () => {
    const sent = pairs(
      planEnrollment(requestWith('CN=global_admin@intune.onmicrosoft.com'), firstLastNamePolicy(false)),
    );
    expect(sent).toEqual({
      seat_id: 'global_admin@intune.onmicrosoft.com',
      mail_email: 'global_admin@intune.onmicrosoft.com',
    });
  });

  it('the check follows the variable name even when the field map chooses the value', () => {
    expectBrokerError(
      () =>
        planEnrollment(requestWith('CN=a_b'), firstLastNamePolicy(), {
          fieldMap: { mail_firstName: 'commonName' },
        }),
      { code: 'NAME_CHARACTERS_UNSUPPORTED', message: ['$mail_firstName'] },
    );
  });
});

describe('planEnrollment: otherName', () => {
  const oneField = (mandatory: boolean): ProfilePolicy =>
    policyWith({ sanAttributes: [attribute('otherName', '$otherNameGUID', mandatory, GUID_OID)] });
  const twoFields = policyWith({
    sanAttributes: [
      attribute('otherName', '$otherNameGUID', false, GUID_OID),
      attribute('otherName', '$otherNameX', false, OTHER_OID),
    ],
  });

  it('one profile field: the oid may be left out; the CA gets base64, the CSR the DER', () => {
    const plan = planEnrollment(requestWith('CN=u', [otherName(SEED_OTHERNAME_HEX)]), oneField(true));
    expect(pairs(plan)).toEqual({ otherNameGUID: SEED_OTHERNAME_BASE64 });
    expect(plan.csrSan).toEqual([{ kind: 'otherName', oid: GUID_OID, valueDer: SEED_DER }]);
  });

  it('several profile fields: the request oid picks the field', () => {
    const plan = planEnrollment(
      requestWith('CN=u', [otherName('05 00', OTHER_OID), otherName(SEED_OTHERNAME_HEX, GUID_OID)]),
      twoFields,
    );
    expect(pairs(plan)).toEqual({ otherNameGUID: SEED_OTHERNAME_BASE64, otherNameX: 'BQA=' });
    expect(plan.csrSan).toEqual([
      { kind: 'otherName', oid: GUID_OID, valueDer: SEED_DER },
      { kind: 'otherName', oid: OTHER_OID, valueDer: Buffer.from([5, 0]) },
    ]);
  });

  const refusals: {
    name: string;
    policy: ProfilePolicy;
    sans: ReturnType<typeof otherName>[];
    expected: ExpectedError;
  }[] = [
    {
      name: 'several profile fields and no oid → POLICY_MISMATCH asking for the oid',
      policy: twoFields,
      sans: [otherName(SEED_OTHERNAME_HEX)],
      expected: {
        code: 'POLICY_MISMATCH',
        message: ['subjectAlternativeNames[0]', 'several otherName fields', GUID_OID, OTHER_OID],
      },
    },
    {
      name: 'an oid matching no profile field → POLICY_MISMATCH',
      policy: oneField(false),
      sans: [otherName(SEED_OTHERNAME_HEX, OTHER_OID)],
      expected: {
        code: 'POLICY_MISMATCH',
        message: ['subjectAlternativeNames[0].oid', OTHER_OID, GUID_OID],
        remedy: ['otherName'],
      },
    },
    {
      name: 'a profile without otherName fields → POLICY_MISMATCH',
      policy: intuneUserPolicy(),
      sans: [otherName(SEED_OTHERNAME_HEX, OTHER_OID)],
      expected: { code: 'POLICY_MISMATCH', message: ['subjectAlternativeNames[0].oid', OTHER_OID] },
    },
    {
      name: 'two values for one field → POLICY_MISMATCH',
      policy: oneField(false),
      sans: [otherName(SEED_OTHERNAME_HEX), otherName('05 00', GUID_OID)],
      expected: {
        code: 'POLICY_MISMATCH',
        message: ['subjectAlternativeNames[1]', 'subjectAlternativeNames[0]', GUID_OID],
      },
    },
    {
      name: 'mandatory otherName absent → SAN_VALUE_MISSING naming its type',
      policy: oneField(true),
      sans: [],
      expected: { code: 'SAN_VALUE_MISSING', message: [GUID_OID, '$otherNameGUID', 'AltNameTypeOtherName'] },
    },
    {
      name: 'a malformed value → OTHERNAME_INVALID naming its index',
      policy: oneField(true),
      sans: [otherName('04 12 b8 ba')],
      expected: {
        code: 'OTHERNAME_INVALID',
        message: ['subjectAlternativeNames[0].value', 'length says 18'],
      },
    },
  ];
  it.each(refusals)('$name', ({ policy, sans, expected }) => {
    const request = requestWith('CN=u', [email('u@contoso.com'), ...sans]);
    // The e-mail sits at index 0 in this request: shift the expected indexes by one.
    const shifted: ExpectedError = {
      ...expected,
      message: expected.message.map((fragment) =>
        typeof fragment === 'string'
          ? fragment.replace(/\[(\d)\]/gu, (_match, digit: string) => `[${Number(digit) + 1}]`)
          : fragment,
      ),
    };
    expectBrokerError(() => planEnrollment(request, policy), shifted);
  });

  it('the optional intune-style otherName is left out when absent', () => {
    expect(pairs(planEnrollment(requestWith('CN=u'), oneField(false)))).toEqual({});
  });

  it('PROFILE_FIELD_MAP otherName:<oid> takes an otherName the profile only names as a variable', () => {
    const policy = policyWith({ sanAttributes: [attribute('additional_field5', '$device_guid', true)] });
    const plan = planEnrollment(requestWith('CN=u', [otherName(SEED_OTHERNAME_HEX, GUID_OID)]), policy, {
      fieldMap: { device_guid: `otherName:${GUID_OID}` },
    });
    expect(pairs(plan)).toEqual({ device_guid: SEED_OTHERNAME_BASE64 });
  });

  it('an otherName field of the UPN type mapped to upn puts the UPN in the CSR', () => {
    const policy = policyWith({
      sanAttributes: [attribute('otherName', '$principal', true, '1.3.6.1.4.1.311.20.2.3')],
    });
    const plan = planEnrollment(requestWith('CN=u', [upn('u@contoso.com')]), policy, {
      fieldMap: { principal: 'upn' },
    });
    expect(pairs(plan)).toEqual({ principal: 'u@contoso.com' });
    expect(plan.csrSan).toEqual([{ kind: 'upn', value: 'u@contoso.com' }]);
  });

  it('fixed SAN values are neither sent nor put in the CSR', () => {
    const policy = policyWith({
      sanAttributes: [
        attribute('rfc822Name', 'pki@contoso.com', true),
        attribute('otherNameUPN', '$otherNameUPN', true),
      ],
    });
    const plan = planEnrollment(requestWith('CN=u@contoso.com'), policy);
    expect(pairs(plan)).toEqual({ otherNameUPN: 'u@contoso.com' });
    expect(plan.csrSan).toEqual([{ kind: 'upn', value: 'u@contoso.com' }]);
  });
});

describe("planEnrollment: DigiCert's default CN (cn=$mail_firstName + cn=$mail_lastName)", () => {
  const defaultCnPolicy = (
    spelling: [string, string] = ['$mail_firstName', '$mail_lastName'],
  ): ProfilePolicy =>
    policyWith({
      subjectAttributes: [
        attribute('cn', spelling[0], true),
        attribute('cn', spelling[1], true),
        attribute('o', 'Contoso Ltd', true),
      ],
      sanAttributes: [attribute('rfc822Name', '$mail_email', true)],
      seatId: { value: '$mail_email', mandatory: true },
    });

  const cases: {
    name: string;
    subject: string;
    sans?: ReturnType<typeof email>[];
    policy?: ProfilePolicy;
    pairs: Record<string, string>;
    csrSubject: EnrollmentPlan['csrSubject'];
  }[] = [
    {
      name: 'a display-name CN is split, and the CSR CN is the two names joined',
      subject: 'CN=Ada Lovelace,E=ada@contoso.com',
      pairs: {
        seat_id: 'ada@contoso.com',
        mail_firstName: 'Ada',
        mail_lastName: 'Lovelace',
        mail_email: 'ada@contoso.com',
      },
      csrSubject: [
        { shortName: 'CN', value: 'Ada Lovelace' },
        { shortName: 'E', value: 'ada@contoso.com' },
        { shortName: 'O', value: 'Contoso Ltd' },
      ],
    },
    {
      name: 'an e-mail CN gives the names from its local part',
      subject: 'CN=ada.lovelace@contoso.com',
      pairs: {
        seat_id: 'ada.lovelace@contoso.com',
        mail_firstName: 'ada',
        mail_lastName: 'lovelace',
        mail_email: 'ada.lovelace@contoso.com',
      },
      csrSubject: [
        { shortName: 'CN', value: 'ada lovelace' },
        { shortName: 'O', value: 'Contoso Ltd' },
      ],
    },
    {
      name: 'the variables match whatever their case; each pair is named as the profile spells it',
      subject: 'CN=Ada Lovelace',
      sans: [email('ada@contoso.com')],
      policy: defaultCnPolicy(['$MAIL_FIRSTNAME', '$mail_LastName']),
      pairs: {
        seat_id: 'ada@contoso.com',
        MAIL_FIRSTNAME: 'Ada',
        mail_LastName: 'Lovelace',
        mail_email: 'ada@contoso.com',
      },
      csrSubject: [
        { shortName: 'CN', value: 'Ada Lovelace' },
        { shortName: 'O', value: 'Contoso Ltd' },
      ],
    },
  ];
  it.each(cases)('$name', ({ subject, sans, policy, pairs: expected, csrSubject }) => {
    const plan = planEnrollment(requestWith(subject, sans), policy ?? defaultCnPolicy());
    expect(pairs(plan)).toEqual(expected);
    expect(plan.csrSubject).toEqual(csrSubject);
  });

  it('an underscore in the e-mail CN is still refused, naming the first-name variable', () => {
    expectBrokerError(
      () => planEnrollment(requestWith('CN=global_admin@intune.onmicrosoft.com'), defaultCnPolicy()),
      { code: 'NAME_CHARACTERS_UNSUPPORTED', message: ['$mail_firstName', "'_'", 'position 7'] },
    );
  });

  it('two cn pairs with names the broker does not know are not both the whole CN', () => {
    const policy = policyWith({
      subjectAttributes: [attribute('cn', '$given', true), attribute('cn', '$surname', true)],
    });
    expectBrokerError(() => planEnrollment(requestWith('CN=Ada Lovelace'), policy), {
      code: 'POLICY_MISMATCH',
      message: ['$given', 'subject attribute "cn"'],
      remedy: ['PROFILE_FIELD_MAP={"given":'],
    });
    const plan = planEnrollment(requestWith('CN=Ada Lovelace'), policy, {
      fieldMap: { given: 'firstName', surname: 'lastName' },
    });
    expect(pairs(plan)).toEqual({ given: 'Ada', surname: 'Lovelace' });
    expect(plan.csrSubject).toEqual([{ shortName: 'CN', value: 'Ada Lovelace' }]);
  });
});

describe('planEnrollment: a subject cn holding a well-known e-mail variable', () => {
  const policy = policyWith({
    subjectAttributes: [attribute('cn', '$mail_email', true)],
    seatId: { value: '$mail_email', mandatory: true },
  });

  it.each([
    ['CN=Ada Lovelace', [email('ada@contoso.com')], 'ada@contoso.com'],
    ['CN=Ada Lovelace,E=ada.subject@contoso.com', [upn('ada.upn@contoso.com')], 'ada.upn@contoso.com'],
    ['CN=Ada Lovelace,E=ada.subject@contoso.com', [], 'ada.subject@contoso.com'],
  ])('%s → mail_email is the e-mail (with fallbacks), not the CN', (subject, sans, expected) => {
    const plan = planEnrollment(requestWith(subject, sans), policy);
    expect(pairs(plan)).toEqual({ seat_id: expected, mail_email: expected });
    expect(plan.csrSubject[0]).toEqual({ shortName: 'CN', value: expected });
  });

  it('with no e-mail anywhere → SAN_VALUE_MISSING, not the CN sent as an e-mail', () => {
    expectBrokerError(() => planEnrollment(requestWith('CN=Ada Lovelace'), policy), {
      code: 'SAN_VALUE_MISSING',
      message: ['$mail_email', 'subject attribute "cn"'],
    });
  });
});

describe('planEnrollment: a value holding several variables (a template)', () => {
  const cases: {
    name: string;
    policy: ProfilePolicy;
    subject: string;
    fieldMap?: Record<string, string>;
    pairs: Record<string, string>;
    csrSubject: EnrollmentPlan['csrSubject'];
  }[] = [
    {
      name: 'cn="$mail_firstname $mail_lastname": two pairs, the CN filled in',
      policy: policyWith({ subjectAttributes: [attribute('cn', '$mail_firstname $mail_lastname', true)] }),
      subject: 'CN=Ada Lovelace',
      pairs: { mail_firstname: 'Ada', mail_lastname: 'Lovelace' },
      csrSubject: [{ shortName: 'CN', value: 'Ada Lovelace' }],
    },
    {
      name: 'text around the variables is the profile’s own',
      policy: policyWith({
        subjectAttributes: [
          attribute('cn', '$mail_lastName, $mail_firstName (Contoso)', true),
          attribute('Organizational Unit', 'Dept $dept', true),
        ],
      }),
      subject: 'CN=ada.lovelace@contoso.com',
      fieldMap: { DEPT: 'const:IT' },
      pairs: { mail_lastName: 'lovelace', mail_firstName: 'ada', dept: 'IT' },
      csrSubject: [
        { shortName: 'CN', value: 'lovelace, ada (Contoso)' },
        { shortName: 'OU', value: 'Dept IT' },
      ],
    },
    {
      name: 'a variable only part of a cn is not taken as the whole CN',
      policy: policyWith({ subjectAttributes: [attribute('cn', '$common_name (contractor)', true)] }),
      subject: 'CN=Ada',
      pairs: { common_name: 'Ada' },
      csrSubject: [{ shortName: 'CN', value: 'Ada (contractor)' }],
    },
    {
      name: 'a value whose optional variable is left out is left out of the CSR',
      policy: policyWith({
        subjectAttributes: [attribute('cn', '$common_name', true), attribute('ou', 'Dept $dept', false)],
      }),
      subject: 'CN=Ada',
      pairs: { common_name: 'Ada' },
      csrSubject: [{ shortName: 'CN', value: 'Ada' }],
    },
  ];
  it.each(cases)('$name', ({ policy, subject, fieldMap, pairs: expected, csrSubject }) => {
    const plan = planEnrollment(requestWith(subject), policy, fieldMap === undefined ? {} : { fieldMap });
    expect(pairs(plan)).toEqual(expected);
    expect(plan.csrSubject).toEqual(csrSubject);
  });

  it('a SAN address template is filled and put in the CSR; its variable is not the whole e-mail', () => {
    const policy = policyWith({ sanAttributes: [attribute('rfc822Name', '$user+pki@contoso.com', true)] });
    expectBrokerError(() => planEnrollment(requestWith('CN=ada', [email('ada@contoso.com')]), policy), {
      code: 'POLICY_MISMATCH',
      message: ['$user', 'SAN attribute "rfc822Name"'],
    });
    const plan = planEnrollment(requestWith('CN=ada', [email('ada@contoso.com')]), policy, {
      fieldMap: { user: 'commonName' },
    });
    expect(pairs(plan)).toEqual({ user: 'ada' });
    expect(plan.csrSan).toEqual([{ kind: 'email', value: 'ada+pki@contoso.com' }]);
  });

  it('a seat made of variables is sent as seat_id, filled', () => {
    const policy = policyWith({
      subjectAttributes: [attribute('cn', '$common_name', true)],
      seatId: { value: '$common_name-seat', mandatory: true },
    });
    // `-` belongs to variable names: the whole token is one unknown variable.
    expectBrokerError(() => planEnrollment(requestWith('CN=ada'), policy), {
      code: 'POLICY_MISMATCH',
      message: ['$common_name-seat', 'seatIdInfo'],
    });
    const spaced = policyWith({
      subjectAttributes: [attribute('cn', '$common_name', true)],
      seatId: { value: 'seat of $Common_Name', mandatory: true },
    });
    const plan = planEnrollment(requestWith('CN=ada'), spaced);
    expect(pairs(plan)).toEqual({ seat_id: 'seat of ada', common_name: 'ada' });
    expect(plan.seatId).toBe('seat of ada');
  });
});

describe('planEnrollment: case-insensitive variable names', () => {
  it('one variable spelled three ways is sent once, under its first spelling, and fills every place', () => {
    const policy = policyWith({
      subjectAttributes: [attribute('cn', '$common_name', true), attribute('e', '$Mail_Email', false)],
      sanAttributes: [attribute('rfc822Name', '$mail_email', true)],
      seatId: { value: '$MAIL_EMAIL', mandatory: true },
    });
    const plan = planEnrollment(requestWith('CN=u', [email('u@contoso.com')]), policy);
    expect(plan.nameValuePairs).toEqual([
      { name: 'seat_id', value: 'u@contoso.com' },
      { name: 'common_name', value: 'u' },
      { name: 'Mail_Email', value: 'u@contoso.com' },
    ]);
    expect(plan.seatId).toBe('u@contoso.com');
    expect(plan.csrSubject).toEqual([
      { shortName: 'CN', value: 'u' },
      { shortName: 'E', value: 'u@contoso.com' },
    ]);
    expect(plan.csrSan).toEqual([{ kind: 'email', value: 'u@contoso.com' }]);
  });

  it('$SEAT_ID is the seat pair itself: no second seat_id', () => {
    const policy = policyWith({ seatId: { value: '$SEAT_ID', mandatory: true } });
    const plan = planEnrollment(requestWith('CN=u', [email('u@contoso.com')]), policy);
    expect(plan.nameValuePairs).toEqual([{ name: 'SEAT_ID', value: 'u@contoso.com' }]);
  });
});

describe('planEnrollment: an otherName field of the UPN type', () => {
  const upnField = policyWith({
    sanAttributes: [attribute('otherName', '$principal', true, OID_UPN)],
  });

  it.each([
    ['the SAN UPN', [upn('ada.upn@contoso.com'), email('ada@contoso.com')], 'ada.upn@contoso.com'],
    ['falls back to the SAN e-mail', [email('ada@contoso.com')], 'ada@contoso.com'],
    ['falls back to the subject e-mail', [], 'ada.subject@contoso.com'],
  ])('takes %s', (_name, sans, expected) => {
    const plan = planEnrollment(requestWith('CN=ada,E=ada.subject@contoso.com', sans), upnField);
    expect(pairs(plan)).toEqual({ principal: expected });
    expect(plan.csrSan).toEqual([{ kind: 'upn', value: expected }]);
  });

  it('with no UPN anywhere → SAN_VALUE_MISSING with the UPN fallbacks', () => {
    expectBrokerError(() => planEnrollment(requestWith('CN=ada'), upnField), {
      code: 'SAN_VALUE_MISSING',
      message: ['$principal', 'AltNameTypeUpn, then AltNameTypeEmail'],
    });
  });

  it('does not take a request otherName: one without an oid goes to the other otherName field', () => {
    const policy = policyWith({
      sanAttributes: [
        attribute('otherName', '$principal', true, OID_UPN),
        attribute('other_name', '$otherNameGUID', false, GUID_OID),
      ],
    });
    const plan = planEnrollment(
      requestWith('CN=ada', [upn('ada@contoso.com'), otherName(SEED_OTHERNAME_HEX)]),
      policy,
    );
    expect(pairs(plan)).toEqual({ principal: 'ada@contoso.com', otherNameGUID: SEED_OTHERNAME_BASE64 });
    expect(plan.csrSan).toEqual([
      { kind: 'upn', value: 'ada@contoso.com' },
      { kind: 'otherName', oid: GUID_OID, valueDer: SEED_DER },
    ]);
  });

  it('a request otherName of the UPN type → POLICY_MISMATCH pointing to AltNameTypeUpn', () => {
    expectBrokerError(
      () =>
        planEnrollment(
          requestWith('CN=ada', [upn('ada@contoso.com'), otherName('0c 01 61', OID_UPN)]),
          upnField,
        ),
      {
        code: 'POLICY_MISMATCH',
        message: ['subjectAlternativeNames[1]', OID_UPN],
        remedy: ['AltNameTypeUpn'],
      },
    );
  });

  it('PROFILE_FIELD_MAP can still take the request otherName for it', () => {
    const plan = planEnrollment(requestWith('CN=ada', [otherName('0c 01 61', OID_UPN)]), upnField, {
      fieldMap: { principal: 'otherName' },
    });
    expect(pairs(plan)).toEqual({ principal: 'DAFh' });
    expect(plan.csrSan).toEqual([
      { kind: 'otherName', oid: OID_UPN, valueDer: Buffer.from('0c0161', 'hex') },
    ]);
  });
});

describe('planEnrollment: attribute names in any spelling', () => {
  it('recognises subject and SAN fields by their long names, OIDs and separators', () => {
    const policy = policyWith({
      subjectAttributes: [
        attribute('Common_Name', '$whatever', true),
        attribute('E-Mail', '$address', false),
        attribute('2.5.4.10', 'Contoso Ltd', true),
        attribute('Organizational Unit Name', 'IT', true),
        attribute('countryName', 'NL', true),
        attribute('Locality', 'Amsterdam', true),
        attribute('stateOrProvince', 'Noord-Holland', true),
      ],
      sanAttributes: [
        attribute('RFC822', '$mail_address', true),
        attribute('User Principal Name', '$principal', true),
        attribute('dns_name', '$host', false),
      ],
    });
    const plan = planEnrollment(
      requestWith('CN=ada', [email('ada@contoso.com'), upn('ada.upn@contoso.com')]),
      policy,
    );
    expect(pairs(plan)).toEqual({
      whatever: 'ada',
      address: 'ada@contoso.com',
      mail_address: 'ada@contoso.com',
      principal: 'ada.upn@contoso.com',
    });
    expect(plan.csrSubject).toEqual([
      { shortName: 'CN', value: 'ada' },
      { shortName: 'E', value: 'ada@contoso.com' },
      { shortName: 'O', value: 'Contoso Ltd' },
      { shortName: 'OU', value: 'IT' },
      { shortName: 'C', value: 'NL' },
      { shortName: 'L', value: 'Amsterdam' },
      { shortName: 'ST', value: 'Noord-Holland' },
    ]);
    expect(plan.csrSan).toEqual([
      { kind: 'email', value: 'ada@contoso.com' },
      { kind: 'upn', value: 'ada.upn@contoso.com' },
    ]);
  });
});

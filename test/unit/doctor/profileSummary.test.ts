import type { PolicyAttribute, ProfilePolicy } from '../../../shared/digicert/types';
import {
  describeSidField,
  describeVariable,
  summarizeProfile,
  unfillableRemedy,
} from '../../../shared/doctor/profileSummary';

function attribute(attributeName: string, value: string, mandatory = true, type?: string): PolicyAttribute {
  return type === undefined ? { attributeName, value, mandatory } : { attributeName, value, mandatory, type };
}

function policy(overrides: Partial<ProfilePolicy>): ProfilePolicy {
  return {
    profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.1',
    nextUpdateHours: 8,
    subjectAttributes: [],
    sanAttributes: [],
    cas: [],
    ...overrides,
  };
}

const userProfile = policy({
  subjectAttributes: [
    attribute('cn', '$common_name'),
    attribute('e', '$mail_email', false),
    attribute('o', 'Contoso Ltd'),
  ],
  sanAttributes: [
    attribute('rfc822Name', '$mail_email'),
    attribute('otherNameUPN', '$otherNameUPN'),
    attribute('otherName', '$otherNameGUID', false, '1.3.6.1.4.1.311.25.1'),
  ],
  seatId: { value: '$mail_email', mandatory: true },
});

describe('summarizeProfile', () => {
  it('says per variable where it sits and which request value fills it', () => {
    const summary = summarizeProfile(userProfile, {});
    expect(summary.variables).toEqual([
      {
        name: 'common_name',
        mandatory: true,
        where: ['subject attribute "cn"'],
        source: 'commonName',
        decidedBy: 'variable name',
      },
      {
        name: 'mail_email',
        mandatory: true,
        where: ['subject attribute "e"', 'SAN attribute "rfc822Name"', 'seatIdInfo'],
        source: 'email',
        decidedBy: 'attribute',
      },
      {
        name: 'otherNameUPN',
        mandatory: true,
        where: ['SAN attribute "otherNameUPN"'],
        source: 'upn',
        decidedBy: 'attribute',
      },
      {
        name: 'otherNameGUID',
        mandatory: false,
        where: ['SAN attribute "otherName" (type 1.3.6.1.4.1.311.25.1)'],
        source: 'otherName:1.3.6.1.4.1.311.25.1',
        decidedBy: 'attribute',
      },
    ]);
    expect(summary.unfillable).toEqual([]);
    expect(summary.fixed).toEqual(['subject attribute "o" = Contoso Ltd']);
    expect(summary.mailNameVariables).toEqual([]);
    expect(describeVariable(summary.variables[1]!)).toBe(
      '$mail_email (mandatory) subject attribute "e", SAN attribute "rfc822Name", seatIdInfo ← email (by attribute)',
    );
  });

  it('finds mandatory variables nothing fills, and PROFILE_FIELD_MAP filling them', () => {
    const custom = policy({
      subjectAttributes: [attribute('cn', '$common_name'), attribute('ou', '$department')],
      sanAttributes: [attribute('rfc822Name', '$user_mail')],
      seatId: { value: '$user_id', mandatory: true },
    });
    const unmapped = summarizeProfile(custom, {});
    expect(unmapped.unfillable.map((variable) => variable.name)).toEqual(['department', 'user_id']);
    expect(describeVariable(unmapped.unfillable[0]!)).toBe(
      '$department (mandatory) subject attribute "ou" ← nothing: the broker cannot fill it',
    );
    expect(unfillableRemedy(unmapped.unfillable)).toMatch(
      /^Either fix \$department, \$user_id to a constant value in the DigiCert certificate profile .* PROFILE_FIELD_MAP=\{"department":"const:<value>"\}/,
    );

    const mapped = summarizeProfile(custom, { department: 'const:Sales', user_id: 'email' });
    expect(mapped.unfillable).toEqual([]);
    expect(mapped.variables.find((variable) => variable.name === 'user_id')).toMatchObject({
      source: 'email',
      decidedBy: 'PROFILE_FIELD_MAP',
    });
  });

  it('leaves an optional variable nobody fills out, and reports a field map entry naming no source', () => {
    const summary = summarizeProfile(
      policy({
        sanAttributes: [attribute('dNSName', '$device_dns', false), attribute('rfc822Name', '$mail_email')],
      }),
      { mail_email: 'mailbox' },
    );
    expect(describeVariable(summary.variables[0]!)).toMatch(/← nothing \(optional: left out\)$/);
    // The variable behind the bad entry has no source either.
    expect(summary.unfillable.map((variable) => variable.name)).toEqual(['mail_email']);
    expect(summary.fieldMapError?.code).toBe('POLICY_MISMATCH');
    expect(summary.fieldMapError?.message).toMatch(/\$mail_email to "mailbox"/);
  });

  it("names DigiCert's default CN variables, where special characters are refused", () => {
    const summary = summarizeProfile(
      policy({
        subjectAttributes: [attribute('cn', '$mail_firstName'), attribute('cn', '$mail_lastName')],
        sanAttributes: [attribute('rfc822Name', '$mail_email')],
      }),
      {},
    );
    expect(summary.mailNameVariables).toEqual(['mail_firstName', 'mail_lastName']);
    expect(summary.variables.map((variable) => variable.source)).toEqual(['firstName', 'lastName', 'email']);
  });
});

describe('the SID field (strong certificate mapping)', () => {
  const sidType = '1.3.6.1.4.1.311.25.2.1';

  it('is reported absent for a profile without it', () => {
    const summary = summarizeProfile(userProfile, {});
    expect(summary.sidField).toBeUndefined();
    expect(describeSidField(summary.sidField)).toBe(
      'SID field: none (requests with securityIdentifier fail with POLICY_MISMATCH)',
    );
  });

  it('names its variable and whether it is mandatory, and lists the variable as filled by securityIdentifier', () => {
    const summary = summarizeProfile(
      { ...userProfile, sidAttribute: attribute('objectSid', '$objectSid', true, sidType) },
      {},
    );
    expect(summary.sidField).toEqual({ variable: 'objectSid', mandatory: true });
    expect(describeSidField(summary.sidField)).toBe(
      'SID field: $objectSid, mandatory (requests without securityIdentifier fail with POLICY_MISMATCH)',
    );
    const sid = summary.variables.find((variable) => variable.name === 'objectSid')!;
    expect(describeVariable(sid)).toBe(
      '$objectSid (mandatory) SID extension 1.3.6.1.4.1.311.25.2 attribute "objectSid" ← securityIdentifier (by attribute)',
    );
    expect(summary.unfillable).toEqual([]);

    const optional = summarizeProfile(
      { ...userProfile, sidAttribute: attribute('sid', '$user_sid', false, sidType) },
      {},
    );
    expect(describeSidField(optional.sidField)).toBe(
      'SID field: $user_sid, optional (filled when the request has securityIdentifier)',
    );
  });

  it('says when the profile fixes the SID field', () => {
    const summary = summarizeProfile(
      { ...userProfile, sidAttribute: attribute('objectSid', 'S-1-5-21-1-2-3-500', true, sidType) },
      {},
    );
    expect(summary.sidField).toEqual({ mandatory: true });
    expect(describeSidField(summary.sidField)).toMatch(/^SID field: fixed by the profile/);
  });
});

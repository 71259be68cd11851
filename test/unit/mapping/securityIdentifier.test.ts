/** The SID of strong certificate mapping (KB5014754): from securityIdentifier to the profile's SID field. */
import { planEnrollment } from '../../../shared/mapping';
import {
  collectPolicyVariables,
  decideVariableSource,
  describeOccurrence,
  parseSourceName,
} from '../../../shared/mapping/variables';
import {
  SID_TYPE,
  attribute,
  email,
  expectBrokerError,
  intuneUserPolicy,
  policyWith,
  requestWith,
  sidUserPolicy,
  upn,
} from './fixtures';

const USER = 'IWUser0@contoso.onmicrosoft.com';
const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';

function userRequest(securityIdentifier?: string) {
  return requestWith(
    `CN=IWUser0,E=${USER}`,
    [email(USER), upn(USER)],
    securityIdentifier === undefined ? {} : { securityIdentifier },
  );
}

describe('the profile SID field as a variable', () => {
  it('sits in the SID extension and takes the request securityIdentifier, whatever it is called', () => {
    const policy = sidUserPolicy({ attributeName: 'sid', value: '$user_sid', mandatory: false });
    const variable = collectPolicyVariables(policy).find((candidate) => candidate.name === 'user_sid');
    expect(variable).toBeDefined();
    expect(variable!.occurrences.map(describeOccurrence)).toEqual([
      'SID extension 1.3.6.1.4.1.311.25.2 attribute "sid"',
    ]);
    expect(decideVariableSource(variable!, {})).toEqual({
      source: { kind: 'securityIdentifier' },
      decidedBy: 'attribute',
    });
  });

  it('is a PROFILE_FIELD_MAP source of its own', () => {
    expect(parseSourceName('securityIdentifier')).toEqual({ kind: 'securityIdentifier' });
    expect(parseSourceName(' SecurityIdentifier ')).toEqual({ kind: 'securityIdentifier' });
  });
});

describe('planEnrollment with a SID', () => {
  it('fills the SID variable with the SID text and asks for the extension in the CSR', () => {
    const plan = planEnrollment(userRequest(SID), sidUserPolicy());
    expect(plan.nameValuePairs).toContainEqual({ name: 'objectSid', value: SID });
    expect(plan.csrSecurityIdentifier).toBe(SID);
    // Nothing else changes: the SID is no SAN entry and no subject attribute.
    expect(plan.csrSan).toEqual([
      { kind: 'email', value: USER },
      { kind: 'upn', value: USER },
    ]);
    expect(plan.csrSubject.map((entry) => entry.shortName)).toEqual(['CN', 'E', 'O']);
  });

  it('fills a differently named, optional SID field the same way', () => {
    const policy = sidUserPolicy({ attributeName: 'sid', value: '$user_sid', mandatory: false });
    const plan = planEnrollment(userRequest(SID), policy);
    expect(plan.nameValuePairs).toContainEqual({ name: 'user_sid', value: SID });
    expect(plan.csrSecurityIdentifier).toBe(SID);
  });

  it('leaves an optional SID field out when no SID is sent', () => {
    const plan = planEnrollment(userRequest(), sidUserPolicy({ mandatory: false }));
    expect(plan.nameValuePairs.map((pair) => pair.name)).not.toContain('objectSid');
    expect(plan.csrSecurityIdentifier).toBeUndefined();
  });

  it('plans no SID anywhere for a request without one on a profile without the field', () => {
    const plan = planEnrollment(userRequest(), intuneUserPolicy());
    expect(plan.csrSecurityIdentifier).toBeUndefined();
    expect(plan.nameValuePairs.some((pair) => pair.value.startsWith('S-1-'))).toBe(false);
  });
});

describe('planEnrollment refuses a SID the profile cannot take, and a missing one it needs', () => {
  it('refuses a SID sent for a profile without the SID field (POLICY_MISMATCH naming securityIdentifier)', () => {
    const error = expectBrokerError(() => planEnrollment(userRequest(SID), intuneUserPolicy()), {
      code: 'POLICY_MISMATCH',
      message: [
        'securityIdentifier was sent',
        '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
        '1.3.6.1.4.1.311.25.2',
      ],
      remedy: ['SID field', 'send securityIdentifier only'],
    });
    expect(error.retryable).toBe(false);
    // The SID itself is not repeated in the message: the request has it.
    expect(error.message).not.toContain(SID);
  });

  it('refuses a request without a SID for a profile whose SID field is mandatory', () => {
    expectBrokerError(() => planEnrollment(userRequest(), sidUserPolicy()), {
      code: 'POLICY_MISMATCH',
      message: ['no securityIdentifier', '$objectSid', 'SID extension 1.3.6.1.4.1.311.25.2'],
      remedy: ['securityIdentifier', 'onPremisesSecurityIdentifier'],
    });
  });

  it('refuses a SID for a profile that fixes its SID field to a constant', () => {
    expectBrokerError(
      () => planEnrollment(userRequest(SID), sidUserPolicy({ value: 'S-1-5-21-1-2-3-500' })),
      { code: 'POLICY_MISMATCH', message: ['securityIdentifier was sent', 'fixes its SID field'] },
    );
  });

  it('refuses a SID on a device profile without the field just the same', () => {
    const device = policyWith({
      subjectAttributes: [attribute('cn', '$common_name', true)],
      sanAttributes: [attribute('otherName', '$otherNameGUID', false, '1.3.6.1.4.1.311.25.1')],
    });
    expectBrokerError(
      () => planEnrollment(requestWith('CN=DEVICE-01', [], { securityIdentifier: SID }), device),
      { code: 'POLICY_MISMATCH', message: ['securityIdentifier'] },
    );
    // The same device profile with a SID field of the SID type takes it.
    const withSid = { ...device, sidAttribute: attribute('objectSid', '$objectSid', true, SID_TYPE) };
    const plan = planEnrollment(requestWith('CN=DEVICE-01', [], { securityIdentifier: SID }), withSid);
    expect(plan.csrSecurityIdentifier).toBe(SID);
  });
});

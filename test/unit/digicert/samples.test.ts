/** The team's model answers (reference/samples) read as the client reads any CA answer. */
import { readFileSync } from 'node:fs';
import { parseRequestSecurityTokenResponse } from '../../../shared/digicert/enrollment';
import { CallContext, interpretHttpAnswer } from '../../../shared/digicert/faults';
import { parseGetPoliciesResponse } from '../../../shared/digicert/policy';
import { parseSoapAnswer } from '../../../shared/digicert/soap';
import { describeWithTeamShared, teamSharedPath } from '../../support/teamShared';

const sample = (name: string) => readFileSync(teamSharedPath('reference', 'samples', name), 'utf8');
const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';

describeWithTeamShared('the reference samples', () => {
  it('getPoliciesResponse gives the profile with its subject, SAN and seat variables', () => {
    const context: CallContext = {
      operation: 'getPolicies',
      caHost: 'pki-ws.symauth.com',
      service: 'policyService',
    };
    const policy = parseGetPoliciesResponse(
      parseSoapAnswer(sample('getPoliciesResponse.xml')).body,
      PROFILE,
      context,
    );
    expect(policy.friendlyName).toBe('Contoso Intune User');
    expect(policy.nextUpdateHours).toBe(8);
    expect(policy.subjectAttributes.map((attribute) => [attribute.attributeName, attribute.value])).toEqual([
      ['cn', '$common_name'],
      ['e', '$mail_email'],
      ['o', 'Contoso Ltd'],
    ]);
    expect(policy.sanAttributes.map((attribute) => attribute.attributeName)).toEqual([
      'rfc822Name',
      'otherNameUPN',
      'otherName',
    ]);
    expect(policy.seatId).toEqual({ value: '$mail_email', mandatory: true });
    expect(policy.keySize).toBe(2048);
    expect(policy.cas).toHaveLength(1);
  });

  it('requestSecurityTokenResponse gives the PKCS#7 token', () => {
    const context: CallContext = {
      operation: 'requestSecurityToken',
      caHost: 'pki-ws.symauth.com',
      service: 'enrollmentService',
    };
    const response = parseRequestSecurityTokenResponse(
      parseSoapAnswer(sample('requestSecurityTokenResponse.xml')).body,
      context,
    );
    expect(response).toMatchObject({ tokenType: 'PKCS7', serverTransactionId: 'S-1732633201-0042' });
    expect(response.tokenDer.length).toBeGreaterThan(0);
  });

  it('soapFault-profile-not-found is PROFILE_NOT_FOUND with the CA words in caMessage', () => {
    const context: CallContext = {
      operation: 'getPolicies',
      caHost: 'pki-ws.symauth.com',
      service: 'policyService',
      profileOid: PROFILE,
    };
    const outcome = interpretHttpAnswer(
      { status: 500, headers: {}, bodyText: sample('soapFault-profile-not-found.xml') },
      context,
      0,
    );
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('PROFILE_NOT_FOUND');
    expect(outcome.error.caMessage).toMatch(/not understood.*not valid for this account.*errorcode 1003/);
  });
});

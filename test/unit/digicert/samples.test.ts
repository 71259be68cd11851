/** The team's model answers (reference/samples) read as the client reads any CA answer. */
import { readFileSync, readdirSync } from 'node:fs';
import { caCertificatesOfPolicy } from '../../../shared/crypto';
import { parseRequestSecurityTokenResponse } from '../../../shared/digicert/enrollment';
import { CallContext } from '../../../shared/digicert/faults/callContext';
import { interpretHttpAnswer } from '../../../shared/digicert/faults/httpAnswer';
import { classifyFault } from '../../../shared/digicert/faults/soapFault';
import { parseGetPoliciesResponse } from '../../../shared/digicert/policy';
import { parseSoapAnswer, type SoapFault } from '../../../shared/digicert/soap';
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
    // The sample's CA certificates are placeholders: nothing to complete a chain with, and no error.
    expect(policy.cas[0]?.issuingCa).toBeDefined();
    expect(caCertificatesOfPolicy(policy.cas)).toEqual([]);
  });

  it('getPoliciesResponse-sid gives the profile with its SID field ($objectSid)', () => {
    const sidProfile = '2.16.840.1.113733.1.16.1.2.3.1.1.47196110';
    const policy = parseGetPoliciesResponse(
      parseSoapAnswer(sample('getPoliciesResponse-sid.xml')).body,
      sidProfile,
      { operation: 'getPolicies', caHost: 'pki-ws.symauth.com', service: 'policyService' },
    );
    expect(policy.friendlyName).toBe('Contoso Intune User with SID');
    expect(policy.sidAttribute).toEqual({
      attributeName: 'objectSid',
      value: '$objectSid',
      mandatory: true,
      type: '1.3.6.1.4.1.311.25.2.1',
    });
    expect(policy.sanAttributes.map((attribute) => attribute.attributeName)).toEqual([
      'rfc822Name',
      'otherNameUPN',
      'otherName',
    ]);
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

  it("the seed's troubleshooting rows: the CA's words classify as the rows' causes say", () => {
    // Rows such as "| DigiCert-provider: <what failed>. <br><br> <the CA's words> | <steps> |".
    const seedRows = readdirSync(teamSharedPath('seed'))
      .filter((name) => name.endsWith('.txt'))
      .flatMap((name) => readFileSync(teamSharedPath('seed', name), 'utf8').split('\n'))
      .filter((line) => line.startsWith('| DigiCert-provider:'))
      .map((line) =>
        (line.split('|')[1] ?? '')
          .replace('DigiCert-provider:', '')
          .split(/<br>/)
          .map((part) => part.trim().replace(/^['‘’"]|['‘’"]$/g, ''))
          .filter((part) => part !== ''),
      );
    const caWordsOf = (marker: RegExp) => {
      const row = seedRows.find((parts) => parts.some((part) => marker.test(part)));
      expect(row).toBeDefined();
      return row ?? [];
    };
    const classify = (faultString: string, detailMessage?: string) => {
      const fault: SoapFault = {
        code: 'soapenv:Client',
        codeLocalName: 'Client',
        faultString,
        detailText: detailMessage ?? '',
      };
      if (detailMessage !== undefined) fault.detailMessage = detailMessage;
      return classifyFault(fault, {
        operation: 'getPolicies',
        caHost: 'pki-ws.symauth.com',
        service: 'policyService',
      }).code;
    };

    const verification = caWordsOf(/ondersteunde kenmerken/);
    const attributeWords = verification[verification.length - 1] ?? '';
    expect(attributeWords).toMatch(/^Het kenmerk staat niet op de lijst/);
    expect(classify(attributeWords)).toBe('POLICY_MISMATCH');
    expect(classify(verification[0] ?? '', attributeWords)).toBe('POLICY_MISMATCH');
    expect(
      classify(
        'A request element was not understood.',
        'The attribute is not in the list of DigiCert supported attributes for certificate templates.',
      ),
    ).toBe('POLICY_MISMATCH');

    const notUnderstood = caWordsOf(/niet begrepen/);
    expect(classify(notUnderstood[notUnderstood.length - 1] ?? '')).toBe('PROFILE_NOT_FOUND');
  });
});

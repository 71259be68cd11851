/**
 * Every request body the client builds is valid against the vendor's schema, and every envelope against the
 * SOAP 1.1 schema — checked with xmllint, offline, through the team folder's catalog.
 */
import type { CallContext } from '../../../shared/digicert/faults';
import { buildRequestSecurityTokenEnvelope } from '../../../shared/digicert/enrollment';
import { buildGetStatusEnvelope } from '../../../shared/digicert/health';
import { buildGetPoliciesEnvelope } from '../../../shared/digicert/policy';
import { describeWithTeamShared } from '../../support/teamShared';
import { extractSoapBody, validateSoapBody, validateSoapEnvelope } from '../../support/xsd';

const PROFILE_OID = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const context: CallContext = {
  operation: 'requestSecurityToken',
  caHost: 'pki-ws.example.test',
  service: 'enrollmentService',
};

function enrollmentEnvelope(): string {
  return buildRequestSecurityTokenEnvelope(
    {
      profileOid: PROFILE_OID,
      clientTransactionId: '0f9c2a4e-8d1b-4c47-9a57-3c2d1e0b9f6a',
      csrDer: Buffer.from('3082010a0282010100c3', 'hex'),
      nameValuePairs: [
        { name: 'seat_id', value: 'adele.vance@contoso.example' },
        { name: 'common_name', value: 'Adele <Vance> & "Co" \'R&D\'' },
        { name: 'mail_email', value: 'adele.vance@contoso.example' },
        { name: 'otherNameUPN', value: 'adele.vance@contoso.example' },
      ],
    },
    context,
  );
}

describeWithTeamShared('PKI-WS request bodies against the vendor XSDs', () => {
  it('getPolicies is valid against CertificateEnrollmentPolicy.xsd', () => {
    const envelope = buildGetPoliciesEnvelope(PROFILE_OID, 'policy-tx-1');
    const result = validateSoapBody(envelope, 'policy');
    expect(result).toEqual({ valid: true, output: '- validates' });
    expect(validateSoapEnvelope(envelope).valid).toBe(true);
  });

  it('RequestSecurityToken with several nameValuePairs is valid against ws-trust-1.3-verisign.xsd', () => {
    const envelope = enrollmentEnvelope();
    const result = validateSoapBody(envelope, 'enrollment');
    expect(result).toEqual({ valid: true, output: '- validates' });
    expect(validateSoapEnvelope(envelope).valid).toBe(true);
  });

  it('getStatusRequestMessage is valid against HealthcheckService.xsd, with and without a profile', () => {
    for (const envelope of [
      buildGetStatusEnvelope('health-tx-1'),
      buildGetStatusEnvelope('health-tx-2', PROFILE_OID),
    ]) {
      expect(validateSoapBody(envelope, 'health')).toEqual({ valid: true, output: '- validates' });
      expect(validateSoapEnvelope(envelope).valid).toBe(true);
    }
  });

  it('fails a body that breaks the schema (the check can fail)', () => {
    // version after nameValuePair is required; drop it, and put an element the schema does not know first.
    const broken = enrollmentEnvelope()
      .replace(/<enr:version>[^<]*<\/enr:version>/, '')
      .replace('<enr:certificateProfileID>', '<enr:certificateProfile>')
      .replace('</enr:certificateProfileID>', '</enr:certificateProfile>');
    const result = validateSoapBody(broken, 'enrollment');
    expect(result.valid).toBe(false);
    expect(result.output).toMatch(/certificateProfile/);
  });

  it('fails a getPolicies whose transaction ID is longer than 40 characters', () => {
    const result = validateSoapBody(buildGetPoliciesEnvelope(PROFILE_OID, 'x'.repeat(41)), 'policy');
    expect(result.valid).toBe(false);
    expect(result.output).toMatch(/clientTransactionID/);
  });

  it('fails an envelope whose Body is not in the SOAP 1.1 namespace', () => {
    const wrongNamespace = buildGetStatusEnvelope('health-tx-3').replace(
      'http://schemas.xmlsoap.org/soap/envelope/',
      'http://www.w3.org/2003/05/soap-envelope',
    );
    expect(validateSoapEnvelope(wrongNamespace).valid).toBe(false);
  });

  it('extracts the body with the namespace declarations it inherits', () => {
    const envelope =
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:hc="http://schemas.pki.symantec.com/pkiservices/healthcheck">' +
      '<s:Body><hc:getStatusRequestMessage><hc:version>1.0</hc:version><hc:operationType>ENROLL</hc:operationType>' +
      '</hc:getStatusRequestMessage></s:Body></s:Envelope>';
    const body = extractSoapBody(envelope);
    expect(body).toContain('xmlns:hc="http://schemas.pki.symantec.com/pkiservices/healthcheck"');
    expect(body.startsWith('<hc:getStatusRequestMessage')).toBe(true);
    expect(validateSoapBody(envelope, 'health').valid).toBe(true);
  });
});

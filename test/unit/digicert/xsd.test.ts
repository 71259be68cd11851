/**
 * Every request body the client builds is valid against the vendor's schema, and every envelope against the
 * SOAP 1.1 schema — checked with xmllint, offline, through the team folder's catalog.
 */
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { buildRequestSecurityTokenEnvelope } from '../../../shared/digicert/enrollment';
import { buildGetStatusEnvelope } from '../../../shared/digicert/health';
import { buildRevokeEnvelope, buildSearchCertificateEnvelope } from '../../../shared/digicert/management';
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

  it('searchCertificateRequest is valid against CertificateManagementService.xsd, with all filters and none', () => {
    const management: CallContext = {
      operation: 'searchCertificate',
      caHost: 'pki-ws.example.test',
      service: 'certificateManagementService',
    };
    for (const envelope of [
      buildSearchCertificateEnvelope(
        { seatId: 'adele.vance@contoso.example', profileOid: PROFILE_OID, status: 'VALID' },
        1,
        'search-tx-1',
        management,
      ),
      buildSearchCertificateEnvelope({ status: 'REVOKED' }, 51, 'search-tx-2', management),
      buildSearchCertificateEnvelope({}, 1, 'search-tx-3', management),
    ]) {
      expect(validateSoapBody(envelope, 'management')).toEqual({ valid: true, output: '- validates' });
      expect(validateSoapEnvelope(envelope).valid).toBe(true);
    }
  });

  it('updateCertificateStatusRequest (Revoke) is valid against CertificateManagementService.xsd', () => {
    const management: CallContext = {
      operation: 'updateCertificateStatus',
      caHost: 'pki-ws.example.test',
      service: 'certificateManagementService',
    };
    for (const envelope of [
      buildRevokeEnvelope(
        { serialNumber: '00:1a:2b:3c', reason: 'Superseded', comment: `stray <${'x'.repeat(500)}>` },
        'revoke-tx-1',
        management,
      ),
      buildRevokeEnvelope({ serialNumber: '7F', reason: 'KeyCompromise' }, 'revoke-tx-2', management),
    ]) {
      expect(validateSoapBody(envelope, 'management')).toEqual({ valid: true, output: '- validates' });
      expect(validateSoapEnvelope(envelope).valid).toBe(true);
    }
  });

  it('fails a Revoke whose comment is longer than 512 characters or whose reason is unknown', () => {
    const management: CallContext = {
      operation: 'updateCertificateStatus',
      caHost: 'pki-ws.example.test',
      service: 'certificateManagementService',
    };
    const envelope = buildRevokeEnvelope(
      { serialNumber: '7F', reason: 'Superseded', comment: 'short' },
      'revoke-tx-3',
      management,
    );
    const longComment = validateSoapBody(envelope.replace('>short<', `>${'x'.repeat(513)}<`), 'management');
    expect(longComment.valid).toBe(false);
    expect(longComment.output).toMatch(/comment/);
    const unknownReason = validateSoapBody(
      envelope.replace('>Superseded<', '>CertificateHold<'),
      'management',
    );
    expect(unknownReason.valid).toBe(false);
    expect(unknownReason.output).toMatch(/revocationReason/);
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

/**
 * The corpus's accepted messages carry XML and DN metacharacters (<, &, ]]>, quotes, escaped , + ; = \ " #)
 * in every value that reaches a SOAP body: the enrollment's nameValuePairs (CN, e-mail, UPN, seat), the seat
 * search and the revocation comment. Each body built from them must still validate against the vendor XSDs.
 */
import type { PkcsRequest } from '../../../shared/contract/types';
import { parseRequestMessage } from '../../../shared/contract/validate';
import { parseRevocationMessage } from '../../../shared/contract/validateRevocation';
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { buildRequestSecurityTokenEnvelope } from '../../../shared/digicert/enrollment';
import { buildRevokeEnvelope, buildSearchCertificateEnvelope } from '../../../shared/digicert/management';
import { planEnrollment } from '../../../shared/mapping';
import { describeWithTeamShared } from '../../support/teamShared';
import { validateSoapBody } from '../../support/xsd';
import { intuneUserPolicy } from '../mapping/fixtures';
import { ACCEPTED_CASES, ALLOWED } from './corpus';

const enrollment: CallContext = {
  operation: 'requestSecurityToken',
  caHost: 'pki-ws.symauth.com',
  service: 'enrollmentService',
};
const management: CallContext = {
  operation: 'searchCertificate',
  caHost: 'pki-ws.symauth.com',
  service: 'certificateManagementService',
};
const VALID = { valid: true, output: '- validates' };

function requestEnvelopes(request: PkcsRequest): string[] {
  const plan = planEnrollment(request, intuneUserPolicy());
  const envelopes = [
    buildRequestSecurityTokenEnvelope(
      {
        profileOid: request.certificateTemplateName,
        clientTransactionId: 'hostile-tx-1',
        csrDer: Buffer.from('3082010a0282010100c3', 'hex'),
        nameValuePairs: plan.nameValuePairs,
      },
      enrollment,
    ),
  ];
  if (plan.seatId !== undefined) {
    envelopes.push(buildSearchCertificateEnvelope({ seatId: plan.seatId }, 1, 'hostile-tx-2', management));
  }
  return envelopes;
}

describeWithTeamShared('SOAP bodies built from hostile but valid values', () => {
  const requests = ACCEPTED_CASES.filter(({ kind }) => kind === 'request');
  it.each(requests.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    const request = parseRequestMessage(testCase.body, ALLOWED);
    const [enroll, search] = requestEnvelopes(request);
    expect(validateSoapBody(enroll!, 'enrollment')).toEqual(VALID);
    if (search !== undefined) expect(validateSoapBody(search, 'management')).toEqual(VALID);
  });

  const revocations = ACCEPTED_CASES.filter(({ kind }) => kind === 'revocation');
  it.each(revocations.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    const revocation = parseRevocationMessage(testCase.body, ALLOWED);
    const envelope = buildRevokeEnvelope(
      {
        serialNumber: revocation.serialNumber!,
        reason: revocation.reason ?? 'Unspecified',
        ...(revocation.comment === undefined ? {} : { comment: revocation.comment }),
      },
      'hostile-tx-3',
      { ...management, operation: 'updateCertificateStatus' },
    );
    expect(validateSoapBody(envelope, 'management')).toEqual(VALID);
  });
});

/**
 * Supersede (contract: `supersedes`): a request that replaces an earlier certificate has that certificate
 * revoked (reason Superseded) once its own result is stored — through the revocation queue, so the revocation
 * is retried, idempotent (revocationId `<requestId>/supersede`) and reported like any other.
 */
import { BrokerError } from '../contract/errors';
import type { IssuedCertificateSummary, IssuedResult, PkcsRequest } from '../contract/types';
import { normalizeSerialNumber } from '../digicert/management';
import type { DigicertCa } from '../digicert/types';
import type { EnrollmentPlan } from '../mapping';

export const SUPERSEDE_REVOCATION_SUFFIX = '/supersede';

/** The serial a request supersedes as the CA writes it (upper-case hex, no leading zeros), if any. */
export function supersededSerial(supersedes: string | undefined): string | undefined {
  return supersedes === undefined ? undefined : normalizeSerialNumber(supersedes);
}

/**
 * The revocation message for an issued result that supersedes a certificate, or undefined when it does not.
 * Built from the stored result alone, so a replay sends the very same message again.
 */
export function supersedeRevocationMessage(result: IssuedResult, caHost: string): string | undefined {
  const serialNumber = result.certificate.supersededSerialNumber;
  if (serialNumber === undefined) return undefined;
  return JSON.stringify({
    schemaVersion: 1,
    revocationId: `${result.requestId}${SUPERSEDE_REVOCATION_SUFFIX}`,
    certificateAuthority: caHost,
    serialNumber,
    reason: 'Superseded',
    comment: `superseded by ${result.certificate.serialNumber} (request ${result.requestId})`,
    ...(result.context === undefined ? {} : { context: result.context }),
  });
}

/**
 * `supersedes` must name a certificate of the same seat at the same CA: otherwise a request for one user
 * could have another user's certificate revoked. Checked before anything is enrolled.
 */
export async function assertSupersedable(
  ca: DigicertCa,
  request: PkcsRequest,
  plan: Pick<EnrollmentPlan, 'seatId'>,
): Promise<void> {
  const serialNumber = supersededSerial(request.supersedes);
  if (serialNumber === undefined) return;
  const found = await ca.searchCertificates(request.certificateAuthority, { serialNumber });
  const old = found.find((candidate) => candidate.serialNumber === serialNumber);
  if (old === undefined) {
    throw new BrokerError(
      'CERTIFICATE_NOT_FOUND',
      `supersedes: the CA at ${request.certificateAuthority} has no certificate with serial number ${serialNumber}.`,
      {
        remedy:
          'Name the serial number of the certificate this request replaces, issued by the same CA, or leave supersedes out.',
      },
    );
  }
  if (plan.seatId === undefined || old.seatId?.toLowerCase() !== plan.seatId.toLowerCase()) {
    throw new BrokerError(
      'REQUEST_NOT_ALLOWED',
      `supersedes: certificate ${serialNumber} belongs to another DigiCert seat than this request's; a request may only supersede a certificate of its own seat.`,
      {
        remedy:
          'Name a certificate issued to the same user or device (the same seat), or leave supersedes out.',
      },
    );
  }
}

/** The issued certificate's summary, naming the certificate it supersedes if there is one. */
export function withSuperseded(
  certificate: IssuedCertificateSummary,
  superseded: string | undefined,
): IssuedCertificateSummary {
  return superseded === undefined ? certificate : { ...certificate, supersededSerialNumber: superseded };
}

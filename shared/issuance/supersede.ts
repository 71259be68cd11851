/**
 * Supersede (contract: `supersedes`): a request that replaces an earlier certificate has that certificate
 * revoked (reason Superseded) once its own result is stored — through the revocation queue, so the revocation
 * is retried, idempotent (revocationId `<requestId>/supersede`) and reported like any other.
 */
import type { IssuedResult } from '../contract/types';
import { normalizeSerialNumber } from '../digicert/management';

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

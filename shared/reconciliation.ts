/**
 * Reconciliation with the CA after an enrollment whose answer never came (a timeout or reset after it was
 * sent, or a host that died mid-request): the CA is asked which certificates it issued for the seat and
 * profile, and those carrying the enrollment's public key are the ones that attempt produced.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { CaCertificateRecord, DigicertCa } from './digicert/types';
import type { EnrollmentAttempt } from './ledger/types';

/** Hex SHA-256 of a DER SubjectPublicKeyInfo: how an issued certificate is matched to the key we made. */
export function publicKeySha256(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function certificateKeySha256(der: Buffer): string | undefined {
  try {
    return publicKeySha256(new X509Certificate(der).publicKey);
  } catch {
    return undefined;
  }
}

/** The valid certificates the CA issued for this attempt's key (usually none or one). */
export async function findCertificatesForAttempt(
  ca: DigicertCa,
  caHost: string,
  profileOid: string,
  attempt: Pick<EnrollmentAttempt, 'seatId' | 'publicKeySha256'>,
): Promise<CaCertificateRecord[]> {
  // Without a seat the search would list the whole profile; every profile our mapping serves has one.
  if (attempt.seatId === undefined) return [];
  const records = await ca.searchCertificates(caHost, { seatId: attempt.seatId, profileOid });
  return records.filter(
    (record) =>
      record.status === 'VALID' &&
      record.certificateDer !== undefined &&
      certificateKeySha256(record.certificateDer) === attempt.publicKeySha256,
  );
}

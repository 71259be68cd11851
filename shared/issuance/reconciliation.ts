/**
 * Reconciliation with the CA after an enrollment whose answer never came (a timeout or reset after it was
 * sent, or a host that died mid-request): the CA is asked which certificates it issued for the seat and
 * profile, and those carrying the enrollment's public key are the ones that attempt produced.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { CaCertificateRecord, DigicertCa } from '../digicert/types';
import type { EnrollmentAttempt } from '../ledger/types';

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

/** A key pair made for an enrollment whose answer was lost, kept in case the CA issues for it late. */
export interface HeldKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeySha256: string;
}

/**
 * Private keys of enrollments whose answer was lost, held in this process's memory only (never stored or
 * logged) for a while: when a later delivery of the same request on this instance finds the certificate the
 * CA issued late, it is used rather than revoked and enrolled again. Bounded in count and time; what is not
 * held (another instance, a restart) is revoked as a stray instead.
 */
export class HeldEnrollmentKeys {
  private readonly keys = new Map<string, HeldKey & { expiresAt: number }>();

  constructor(private readonly options: { maxKeys?: number; ttlMs?: number; now?: () => number } = {}) {}

  hold(requestId: string, attempt: number, key: HeldKey): void {
    const now = this.now();
    this.sweep(now);
    const maxKeys = this.options.maxKeys ?? 1000;
    // Oldest first out: a Map iterates in insertion order.
    while (this.keys.size >= maxKeys) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(`${requestId}#${attempt}`, { ...key, expiresAt: now + (this.options.ttlMs ?? 3_600_000) });
  }

  /** The held key of that attempt if it is the one with this public key hash (and forgets it). */
  take(requestId: string, attempt: number, publicKeySha256: string): HeldKey | undefined {
    const id = `${requestId}#${attempt}`;
    const held = this.keys.get(id);
    this.keys.delete(id);
    if (held === undefined || held.expiresAt <= this.now() || held.publicKeySha256 !== publicKeySha256) {
      return undefined;
    }
    return { privateKey: held.privateKey, publicKey: held.publicKey, publicKeySha256: held.publicKeySha256 };
  }

  get size(): number {
    return this.keys.size;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private sweep(now: number): void {
    for (const [id, held] of this.keys) if (held.expiresAt <= now) this.keys.delete(id);
  }
}

/**
 * Reconciliation with the CA after an enrollment whose answer never came (a timeout or reset after it was
 * sent, or a host that died mid-request): the CA is asked which certificates it issued for the seat and
 * profile, and those carrying the enrollment's public key are the ones that attempt produced. A certificate
 * whose key is still in hand is used; one whose key was lost is revoked (Superseded), so that no request
 * leaves a VALID certificate nobody holds the key of.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { BrokerSettings } from '../config/settings';
import { BrokerError } from '../contract/errors';
import { REQUEST_JOB, toBrokerError } from '../delivery';
import type { CaCertificateRecord, DigicertCa, EnrollmentResponse } from '../digicert/types';
import type { EnrollmentAttempt } from '../ledger/types';
import type { HeldEnrollmentKeys } from './heldKeys';
import type { LedgerEntry } from './ledgerEntry';

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

/** The key pair and the CA's token for it: what the PFX is built from. */
export interface KeyAndToken {
  keys: { privateKey: KeyObject; publicKey: KeyObject };
  response: EnrollmentResponse;
}

export interface ReconciliationDependencies {
  settings: Pick<
    BrokerSettings,
    'caConnectTimeoutMs' | 'caRequestTimeoutMs' | 'caMaxAttempts' | 'caLateIssueWindowSeconds'
  >;
  ca: DigicertCa;
  heldKeys: HeldEnrollmentKeys;
  now: () => Date;
}

/** Settles with the CA what enrollments whose answer was lost left behind, and notes it in the ledger. */
export class Reconciliation {
  constructor(private readonly deps: ReconciliationDependencies) {}

  /**
   * The enrollment call of `attempt` failed after it may have reached the CA. The key is still in hand: the
   * certificate the CA issued for it is used (returned). Finding none, the key is held in case the CA issues
   * late, and undefined is returned.
   */
  async answerLost(
    entry: LedgerEntry,
    attempt: EnrollmentAttempt,
    keys: KeyAndToken['keys'],
    caught: unknown,
  ): Promise<KeyAndToken | undefined> {
    const { caHost, profileOid, requestId } = entry.record;
    const found = await findCertificatesForAttempt(this.deps.ca, caHost, profileOid, attempt);
    if (found.length === 0) {
      // It may still issue late: the next delivery asks again before anything else, and uses what it finds
      // if it runs on this instance (the key is held here), else revokes it.
      this.deps.heldKeys.hold(requestId, attempt.attempt, {
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
        publicKeySha256: attempt.publicKeySha256,
      });
      return undefined;
    }
    const kept = await this.useIssued(
      entry,
      attempt.attempt,
      found,
      (serial) =>
        `enrollment attempt ${attempt.attempt} got no answer (${toBrokerError(caught, REQUEST_JOB).code}); the CA had issued ${serial} for our key, which is used`,
    );
    return { keys, response: { tokenDer: kept.certificateDer!, tokenType: 'X509v3' } };
  }

  /**
   * The request has its result: a key still held for one of its attempts (one the CA never issued for, or
   * one a later attempt replaced) can never be used, so it is not kept until its time runs out.
   */
  requestEnded(requestId: string): void {
    this.deps.heldKeys.forget(requestId);
  }

  /**
   * The record says an earlier delivery sent an enrollment and never finished. If that delivery may still
   * be running (within its time budget), wait: the message comes back later. Otherwise ask the CA what it
   * issued for that attempt: a certificate whose key this instance still holds is used (returned); one whose
   * key is lost is a stray, revoked before enrolling again; nothing found is waited on while the CA may still
   * issue late (CA_LATE_ISSUE_WINDOW_SECONDS).
   */
  async settleEarlierAttempt(entry: LedgerEntry, finalDelivery: boolean): Promise<KeyAndToken | undefined> {
    const attempt = entry.record.enrollment;
    if (entry.record.state !== 'enrolling' || attempt === undefined) return undefined;
    // How long the delivery that sent it could still be at it: every attempt's connect and answer time, plus
    // room for the waits between attempts.
    const { caConnectTimeoutMs, caRequestTimeoutMs, caMaxAttempts } = this.deps.settings;
    const budgetEnds =
      Date.parse(attempt.startedAt) + caMaxAttempts * (caConnectTimeoutMs + caRequestTimeoutMs + 1000) + 5000;
    // On the queue's last delivery, waiting would only turn a crash into GAVE_UP: settle it now instead.
    if (!finalDelivery && attempt.endedAt === undefined && this.deps.now().getTime() < budgetEnds) {
      throw new BrokerError(
        'CA_UNAVAILABLE',
        `Another delivery of request ${entry.record.requestId} sent enrollment attempt ${attempt.attempt} at ${attempt.startedAt} and may still be waiting for the CA; this delivery waits rather than enroll twice.`,
        { retryable: true, detail: { anotherDeliveryAtWork: true } },
      );
    }
    return this.settleLostEnrollment(entry, { awaitLateIssue: true });
  }

  /**
   * Before a request ends for good (a permanent failure, GAVE_UP, the poison queue), no certificate of an
   * unsettled attempt may stay VALID. The result goes out even when the CA cannot be asked now: the record
   * then says so, with the seat and key to look for, for the operator to revoke by hand.
   */
  async settleBeforeEnd(entry: LedgerEntry): Promise<void> {
    try {
      await this.settleLostEnrollment(entry, { requestEnds: true });
    } catch (caught) {
      const attempt = entry.record.enrollment;
      if (attempt === undefined) return;
      const error = toBrokerError(caught, REQUEST_JOB);
      await entry
        .note(
          `attempt ${attempt.attempt} could not be settled with the CA before the request ended (${error.code}: ${error.message}); a certificate the CA issued for it (seat ${attempt.seatId ?? 'unknown'}, public key SHA-256 ${attempt.publicKeySha256}) must be revoked by hand`,
        )
        // Nothing more is lost if this write fails too: the record keeps the attempt, its seat and key hash.
        .catch(() => undefined);
    }
  }

  /**
   * Settles what the CA issued for an attempt whose answer was lost: with a held key the certificate is used
   * (returned), without one it is revoked. With `awaitLateIssue`, finding nothing while the CA may still issue
   * is a retryable wait, not the last word. With `requestEnds` (the request fails for good) nothing can be
   * used: what the CA issued is revoked even when the key is held. Best effort is the caller's choice.
   */
  async settleLostEnrollment(
    entry: LedgerEntry,
    options: { awaitLateIssue?: boolean; requestEnds?: boolean } = {},
  ): Promise<KeyAndToken | undefined> {
    const attempt = entry.record.enrollment;
    if (entry.record.state !== 'enrolling' || attempt === undefined || attempt.nothingIssued)
      return undefined;
    const { caHost, profileOid, requestId } = entry.record;
    const found = await findCertificatesForAttempt(this.deps.ca, caHost, profileOid, attempt);
    const held =
      found.length > 0
        ? this.deps.heldKeys.take(requestId, attempt.attempt, attempt.publicKeySha256)
        : undefined;
    if (held !== undefined && !options.requestEnds) {
      const kept = await this.useIssued(
        entry,
        attempt.attempt,
        found,
        (serial) =>
          `the CA issued ${serial} late for attempt ${attempt.attempt}, whose key this instance still held; it is used`,
      );
      return {
        keys: { privateKey: held.privateKey, publicKey: held.publicKey },
        response: { tokenDer: kept.certificateDer!, tokenType: 'X509v3' },
      };
    }
    for (const stray of found) {
      const ended = held !== undefined;
      await this.deps.ca.revokeCertificate(
        caHost,
        stray.serialNumber,
        'Superseded',
        ended
          ? `request ${requestId} ended without it (attempt ${attempt.attempt})`
          : `key lost: request ${requestId} attempt ${attempt.attempt}`,
      );
      await entry.reconciled(
        { requestId, attempt: attempt.attempt, action: 'revoked-stray', serialNumber: stray.serialNumber },
        ended
          ? `revoked certificate ${stray.serialNumber} of attempt ${attempt.attempt}: the request ended without delivering it`
          : `revoked stray certificate ${stray.serialNumber} of attempt ${attempt.attempt}: its private key was lost with the delivery that enrolled it`,
      );
    }
    if (found.length === 0) {
      // From when the attempt gave up on its answer: the send itself may have come late in a long attempt.
      const lateUntil =
        Date.parse(attempt.endedAt ?? attempt.startedAt) + this.deps.settings.caLateIssueWindowSeconds * 1000;
      // Without a seat nothing can be searched for (findCertificatesForAttempt), so waiting cannot help.
      if (options.awaitLateIssue && attempt.seatId !== undefined && this.deps.now().getTime() < lateUntil) {
        throw new BrokerError(
          'CA_UNAVAILABLE',
          `Enrollment attempt ${attempt.attempt} of request ${requestId} got no answer and the CA shows no certificate for it yet; the CA may still issue it until ${new Date(lateUntil).toISOString()} (CA_LATE_ISSUE_WINDOW_SECONDS), so the request waits rather than enroll a second certificate for the seat.`,
          {
            retryable: true,
            remedy:
              'Nothing to do: the request is tried again shortly. If the CA is known to answer slowly, CA_REQUEST_TIMEOUT_MS may be too short.',
          },
        );
      }
      // Ending inside the window (GAVE_UP, the poison queue) the ledger says so: a certificate the CA still
      // issues for this attempt would be a stray for the operator to revoke.
      const stillOpen = attempt.seatId !== undefined && this.deps.now().getTime() < lateUntil;
      await entry.reconciled(
        { requestId, attempt: attempt.attempt, action: 'nothing-issued' },
        stillOpen
          ? `attempt ${attempt.attempt} left no certificate at the CA so far; the CA may still issue it until ${new Date(lateUntil).toISOString()}, and such a certificate (for the seat in this record) must be revoked by hand`
          : `attempt ${attempt.attempt} left no certificate at the CA`,
      );
    }
    return undefined;
  }

  /** Uses the first certificate found for the attempt (revoking any others) and records why. */
  private async useIssued(
    entry: LedgerEntry,
    attempt: number,
    found: CaCertificateRecord[],
    why: (serialNumber: string) => string,
  ): Promise<CaCertificateRecord> {
    const kept = await this.keepOne(entry, attempt, found, 'revoked-duplicate');
    await entry.reconciled(
      {
        requestId: entry.record.requestId,
        attempt,
        action: 'used-issued-certificate',
        serialNumber: kept.serialNumber,
      },
      why(kept.serialNumber),
    );
    return kept;
  }

  /** Keeps the first of several certificates issued for one key and revokes the others (Superseded). */
  private async keepOne(
    entry: LedgerEntry,
    attempt: number,
    found: CaCertificateRecord[],
    action: 'revoked-duplicate' | 'revoked-stray',
  ): Promise<CaCertificateRecord> {
    const [kept, ...extra] = found;
    const { caHost, requestId } = entry.record;
    for (const duplicate of extra) {
      await this.deps.ca.revokeCertificate(
        caHost,
        duplicate.serialNumber,
        'Superseded',
        `duplicate for request ${requestId}`,
      );
      await entry.reconciled(
        { requestId, attempt, action, serialNumber: duplicate.serialNumber },
        `revoked duplicate certificate ${duplicate.serialNumber} of attempt ${attempt}`,
      );
    }
    return kept!;
  }
}

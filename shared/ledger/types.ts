/**
 * The request ledger: one durable record per requestId, so that a redelivered or repeated message never
 * enrolls again and every request can be accounted for (issue: never lose a request, never issue twice).
 *
 *   received → enrolling (attempt n: clientTransactionID, SHA-256 of the CSR public key, start time)
 *            → issued (serial, thumbprint, the result exactly as published) | failed (code, the result)
 *
 * A request is stored when there is something to record (the enrollment about to be sent, a failure, its
 * outcome), not when it is first read: so an issued certificate costs two writes, not three.
 *
 * Writes are optimistic (ETag): a record changed by another invocation since it was read, or stored by one
 * since it was found missing, is a LedgerConflictError, and the caller lets the message be delivered again
 * rather than race it.
 */
import type { PkcsResult } from '../contract/types';
import type { SeatUsage } from './seatUsage';

export type LedgerState = 'received' | 'enrolling' | 'issued' | 'failed';

export interface EnrollmentAttempt {
  /** 1 for the first enrollment sent for this request, 2 for the next, … */
  attempt: number;
  clientTransactionId: string;
  /** Hex SHA-256 of the DER SubjectPublicKeyInfo in the CSR: how a certificate found at the CA is matched. */
  publicKeySha256: string;
  startedAt: string;
  seatId?: string;
  /** Set when the enrollment call came back without a certificate: no delivery is waiting on it any more. */
  endedAt?: string;
  /** The CA certainly did not carry it out (it said no before doing anything): nothing to reconcile. */
  nothingIssued?: boolean;
}

export interface LedgerError {
  code: string;
  message: string;
}

export interface LedgerRecord {
  requestId: string;
  /** Hex SHA-256 of the request message's canonical JSON: a reused requestId with another body is refused. */
  requestHash: string;
  state: LedgerState;
  profileOid: string;
  caHost: string;
  createdAt: string;
  updatedAt: string;
  /** The latest enrollment sent (or about to be sent) to the CA. */
  enrollment?: EnrollmentAttempt;
  /** The last transient failure, carried into a GAVE_UP result if the queue gives up. */
  lastError?: LedgerError;
  serialNumber?: string;
  thumbprint?: string;
  errorCode?: string;
  /** The result exactly as published (JSON text), replayed byte for byte on a repeat. */
  resultJson?: string;
  /** What reconciliation found and did (used a certificate found at the CA, revoked a stray …). */
  events: string[];
  /** The issued certificate was revoked through the revocation queue: when, why, by which revocation. */
  revocation?: CertificateRevocationNote;
  /** Opaque concurrency token of the stored version; none while the record is not stored (open()). */
  etag?: string;
}

export interface CertificateRevocationNote {
  revocationId: string;
  reason: string;
  revokedAt: string;
  /** The CA had revoked it before (by another revocation, or in its portal). */
  alreadyRevoked: boolean;
}

/** What a record is created with. */
export interface RequestIdentity {
  requestId: string;
  requestHash: string;
  profileOid: string;
  caHost: string;
}

export interface BeginOutcome {
  record: LedgerRecord;
  /** true when this call created the record (first time this requestId is seen). */
  created: boolean;
}

export interface RequestLedger {
  /** Reservations of DigiCert seats, counted for MAX_CERTIFICATES_PER_SEAT_PER_DAY. */
  readonly seats: SeatUsage;
  /**
   * Creates the record in state `received`, or returns the one that exists (whatever its body hash). The
   * pipeline opens instead, and stores the record only when it has something to record.
   */
  begin(input: RequestIdentity): Promise<BeginOutcome>;
  /**
   * The stored record, or (none yet) a new one in state `received` that is not stored: no write, only a read.
   * Its first write inserts it; finding one stored meanwhile is a LedgerConflictError, as a stale ETag is.
   * createdAt is when the request was first seen: now, or `seenSince` if that is earlier.
   */
  open(input: RequestIdentity & { seenSince?: Date }): Promise<LedgerRecord>;
  get(requestId: string): Promise<LedgerRecord | undefined>;
  /** → enrolling, before the enrollment is sent. */
  recordEnrollment(record: LedgerRecord, attempt: EnrollmentAttempt): Promise<LedgerRecord>;
  recordTransientFailure(record: LedgerRecord, error: LedgerError): Promise<LedgerRecord>;
  /**
   * The enrollment call of the current attempt came back with an error. With `nothingIssued` the request
   * goes back to `received`; otherwise it stays `enrolling` until the CA has been asked what it issued.
   */
  recordAttemptEnded(
    record: LedgerRecord,
    outcome: { nothingIssued: boolean; error: LedgerError },
  ): Promise<LedgerRecord>;
  recordEvent(record: LedgerRecord, event: string): Promise<LedgerRecord>;
  /** Notes on an issued request's record that its certificate was revoked (allowed after the outcome). */
  recordRevocation(record: LedgerRecord, note: CertificateRevocationNote): Promise<LedgerRecord>;
  /** → issued or failed, with the result as it will be published. */
  recordOutcome(record: LedgerRecord, result: PkcsResult, resultJson: string): Promise<LedgerRecord>;
}

export class LedgerConflictError extends Error {
  constructor(readonly requestId: string) {
    super(`the ledger record of request ${requestId} was changed by another invocation`);
    this.name = 'LedgerConflictError';
  }
}

/**
 * A write the record's state does not allow: a stored outcome (issued or failed) is final, so it is never
 * replaced and no enrollment is started after it — a repeat replays the stored result instead.
 */
export class LedgerStateError extends Error {
  constructor(
    readonly requestId: string,
    readonly state: LedgerState,
    readonly operation: string,
  ) {
    super(
      `the ledger record of request ${requestId} is ${state}: ${operation} is not allowed after an outcome`,
    );
    this.name = 'LedgerStateError';
  }
}

/** Whether a record (request or revocation) has a stored version: one from open() has none until written. */
export function isStored(record: { etag?: string }): boolean {
  return record.etag !== undefined;
}

/**
 * One request's way through the broker: validate → ledger → recipient → policy → mapping → (SID ownership)
 * → key and CSR → seat limit → enroll → chain → PFX → result. Orchestration only: protocol, mapping, crypto
 * and storage details live in their modules; what ends a failed delivery is decide() (shared/delivery.ts),
 * what a lost enrollment answer left at the CA is settled by reconciliation.ts.
 *
 * Guarantees (README "Delivery"):
 * - every message ends as exactly one published result, or — for a transient failure while the queue still
 *   has deliveries left — `retry`, and the request waits in the queue; when the deliveries are used up but
 *   the request is younger than REQUEST_MAX_WAIT_MINUTES, `defer`: it goes back on the queue with a delay
 *   (an outage of the CA or Key Vault is waited out, not reported);
 * - a requestId is enrolled at most once at a time and never again once it has a result: a repeated or
 *   redelivered message replays the stored result byte for byte;
 * - an enrollment whose answer was lost is reconciled with the CA before anything is sent again: a
 *   certificate for the key still in hand is used, one whose key was lost is revoked (Superseded).
 */
import { randomUUID } from 'node:crypto';
import type { BrokerSettings } from '../config/settings';
import { BrokerError, isBrokerError } from '../contract/errors';
import type { IssuedResult, PkcsRequest, PkcsResult } from '../contract/types';
import { parseRequestMessage, readContextLoosely, readRequestIdLoosely } from '../contract/validate';
import {
  buildPfxOfCertificates,
  createCsr,
  createPfxPassword,
  directKeys,
  encryptPasswordForRecipient,
  parseIssuedToken,
  parseRecipientCertificate,
  parsedCaCertificatesOfPolicy,
  summarizeIssued,
  type KeySource,
} from '../crypto';
import { decide, poisonedGaveUp, REQUEST_JOB, toBrokerError } from '../delivery';
import type { DigicertCa } from '../digicert/types';
import { assertRequestAllowed } from '../guardrails/requestGuardrails';
import type { SidOwnershipCheck } from '../identity/sidOwnership';
import type { SeatRef } from '../ledger/seatUsage';
import { isStored, type LedgerRecord, type RequestIdentity, type RequestLedger } from '../ledger/types';
import { MessageAuthentication } from '../request-signing/messageAuthentication';
import { parseSubjectName, planEnrollment, type EnrollmentPlan } from '../mapping';
import { withRequestCorrelation } from '../telemetry/correlation';
import type { Telemetry } from '../telemetry/telemetry';
import { HeldEnrollmentKeys } from './heldKeys';
import { LedgerEntry } from './ledgerEntry';
import {
  assertPublishable,
  failedResult,
  replayOf,
  unstored,
  withFollowUp,
  type PipelineOutcome,
} from './outcomes';
import { publicKeySha256, Reconciliation, type KeyAndToken } from './reconciliation';
import { requestHash } from './requestHash';
import { SeatLimit } from './seatLimit';
import { assertSupersedable, supersededSerial, withSuperseded } from './supersede';

export type { PipelineOutcome } from './outcomes';

export interface Delivery {
  /** How many times the queue has handed this message out, this time included (1 on first delivery). */
  dequeueCount: number;
  /** When the message was put on the queue (the trigger's insertionTime), for the queue-wait metric. */
  insertedAt?: Date;
}

export interface PipelineDependencies {
  settings: BrokerSettings;
  ca: DigicertCa;
  ledger: RequestLedger;
  telemetry: Telemetry;
  now?: () => Date;
  /** Keys of enrollments whose answer was lost, shared by every pipeline of this process (default: its own). */
  heldKeys?: HeldEnrollmentKeys;
  /** Required when settings.sidVerifyWithGraph is on: confirms a request's SID belongs to its UPN. */
  sidOwnership?: SidOwnershipCheck;
  /** Where a new enrollment's key pair comes from (default: generated when needed). */
  keys?: KeySource;
  /** Checks the signature of every request when REQUEST_SIGNING_SECRET_NAME is set (default: off). */
  authentication?: MessageAuthentication;
}

export class CertificatePipeline {
  private readonly now: () => Date;
  private readonly reconciliation: Reconciliation;
  private readonly seatLimit: SeatLimit;
  private readonly authentication: MessageAuthentication;

  constructor(private readonly deps: PipelineDependencies) {
    this.authentication = deps.authentication ?? new MessageAuthentication({ maxAgeDays: 0 });
    if (deps.settings.sidVerifyWithGraph && deps.sidOwnership === undefined) {
      throw new Error('internal error: SID_VERIFY_WITH_GRAPH is on, but the pipeline was given no SID check');
    }
    this.now = deps.now ?? (() => new Date());
    this.reconciliation = new Reconciliation({
      settings: deps.settings,
      ca: deps.ca,
      heldKeys: deps.heldKeys ?? new HeldEnrollmentKeys(),
      now: this.now,
    });
    this.seatLimit = new SeatLimit(deps.settings.maxCertificatesPerSeatPerDay, deps.ledger);
  }

  /** Everything tracked while handling the message (also the CA and Key Vault calls) carries its requestId. */
  process(message: unknown, delivery: Delivery): Promise<PipelineOutcome> {
    return withRequestCorrelation(readRequestIdLoosely(message), () => this.handle(message, delivery));
  }

  private async handle(message: unknown, delivery: Delivery): Promise<PipelineOutcome> {
    const started = Date.now();
    if (delivery.insertedAt !== undefined) {
      this.deps.telemetry.trackMetric?.(
        'pkcs.queueWaitMs',
        Math.max(0, started - delivery.insertedAt.getTime()),
        {
          firstDelivery: String(delivery.dequeueCount <= 1),
        },
      );
    }
    let request: PkcsRequest | undefined;
    let entry: LedgerEntry | undefined;
    // The seat this delivery reserved, given back if the request ends failed with nothing spent at the CA.
    const seat: { reserved?: SeatRef } = {};
    const track = (
      outcome: 'issued' | 'failed' | 'retrying' | 'replayed',
      extra: { errorCode?: string; serial?: string } = {},
    ) =>
      this.deps.telemetry.trackRequest({
        requestId: request?.requestId ?? readRequestIdLoosely(message),
        profileOid: request?.certificateTemplateName,
        caHost: request?.certificateAuthority,
        outcome,
        errorCode: extra.errorCode,
        certificateSerial: extra.serial,
        durationMs: Date.now() - started,
        dequeueCount: delivery.dequeueCount,
        subjectIdentity: request === undefined ? undefined : identityOf(request),
      });
    try {
      request = parseRequestMessage(message, { caAllowedHosts: this.deps.settings.caAllowedHosts });
      const record = await this.deps.ledger.open({ ...recordedAs(request), ...firstSeen(delivery) });
      // Checked before anything is written, so a refused message leaves no record a real request with its id
      // would run into. A stored record of this very body was written after its message passed (or before
      // signing was required): its request is carried to its end whatever the key does now (Key Vault down,
      // the version retired), so a certificate already enrolled is never left unsettled.
      if (!isOwnStoredRecord(record, request))
        await this.authentication.assertAuthentic(request, 'request', request.requestId);
      if (record.requestHash !== requestHash(request)) {
        // Not recorded: the ledger keeps the first request under this id.
        const error = new BrokerError(
          'INVALID_REQUEST',
          `requestId "${request.requestId}" was already used on ${record.createdAt} for a different request; the broker never issues twice under one requestId.`,
          { remedy: 'Send a new request with a new requestId (the first request keeps its own result).' },
        );
        track('failed', { errorCode: error.code });
        return unstored(failedResult(error, request.requestId, request.context, this.now()));
      }
      entry = new LedgerEntry(this.deps.ledger, this.deps.telemetry, record);
      const stored = replayOf(entry.record);
      if (stored) {
        track('replayed');
        return stored;
      }
      const finalDelivery = delivery.dequeueCount >= this.deps.settings.maxDequeueCount;
      const result = await this.issue(request, entry, finalDelivery, seat);
      track('issued', { serial: result.certificate.serialNumber });
      return await this.complete(entry, result);
    } catch (caught) {
      const requestId = request?.requestId ?? readRequestIdLoosely(message);
      const error = toBrokerError(caught, REQUEST_JOB);
      // A transient failure is noted for a later poison result; a permanent one is stored with the outcome below.
      // While another delivery waits for the CA, its record is left alone: a write here would change the ETag
      // under it, and its result write would then conflict and cost it the certificate the CA issued.
      if (entry && error.retryable && !error.detail?.anotherDeliveryAtWork) {
        await this.deps.ledger
          .recordTransientFailure(entry.record, { code: error.code, message: error.message })
          .then((record) => entry && (entry.record = record))
          // Best effort: lastError only words a later poison result (a record left unstored is not deferred,
          // below). On a conflict another delivery wrote the record; its own outcome stands.
          .catch(() => undefined);
      }
      // Only a stored record dates the request: a deferred message comes back as a new one, and with no record
      // its wait (REQUEST_MAX_WAIT_MINUTES) would start over.
      const dated = entry && isStored(entry.record) ? entry.record : undefined;
      const decision = decide(error, delivery, dated, this.deps.settings, this.now(), REQUEST_JOB);
      track(decision.kind === 'fail' ? 'failed' : 'retrying', { errorCode: error.code });
      if (decision.kind === 'retry') return { kind: 'retry', error, requestId };
      if (decision.kind === 'defer') {
        const waiting = entry!; // decide defers only a request that has a stored record
        await waiting
          .note(
            `deliveries used up by ${error.code}; back on the queue in ${decision.seconds} s (waits up to REQUEST_MAX_WAIT_MINUTES from ${waiting.record.createdAt})`,
          )
          // Only the note is lost if this write fails: the deferral is the message put back on the queue.
          .catch(() => undefined);
        return { kind: 'defer', error, requestId: waiting.record.requestId, delaySeconds: decision.seconds };
      }
      // Whatever ends the request now (a retryable error out of time, or a permanent one such as a recipient
      // certificate that expired between deliveries), no certificate of an unsettled attempt may stay VALID.
      // Unless another delivery holds the record: its attempt and the seat reservation it shares are its own.
      if (entry && !error.detail?.anotherDeliveryAtWork) {
        await this.reconciliation.settleBeforeEnd(entry);
        await this.seatLimit.releaseUnspent(entry.record, seat.reserved);
      }
      const failed = failedResult(
        decision.reported,
        requestId,
        request?.context ?? readContextLoosely(message),
        this.now(),
      );
      return entry ? await this.complete(entry, failed) : unstored(failed);
    }
  }

  /**
   * A message the queue gave up on (it landed on the poison queue because no delivery completed, e.g. the
   * host died mid-request): it still ends as one result — the stored one if the request has one, else
   * GAVE_UP carrying the last error the ledger saw.
   */
  poisoned(message: unknown): Promise<PipelineOutcome> {
    return withRequestCorrelation(readRequestIdLoosely(message), () => this.handlePoisoned(message));
  }

  private async handlePoisoned(message: unknown): Promise<PipelineOutcome> {
    const requestId = readRequestIdLoosely(message);
    // An invalid message matches no record: the ledger is left alone, and it ends as GAVE_UP.
    const request = this.validOrUndefined(message);
    const entry = request === undefined ? undefined : await this.ledgerEntryFor(request);
    // As for a delivery: a stored record of this body needs no new check; anything else is checked before
    // the ledger is written, and a forged message written straight to the poison queue ends alone.
    const refusal =
      request === undefined || (entry && isStored(entry.record))
        ? undefined
        : await this.signatureRefusal(request);
    if (refusal !== undefined) {
      this.deps.telemetry.trackRequest({
        requestId,
        outcome: 'failed',
        errorCode: refusal.code,
        durationMs: 0,
      });
      return unstored(failedResult(refusal, requestId, readContextLoosely(message), this.now()));
    }
    const stored = entry && replayOf(entry.record);
    if (stored) return stored;
    const error = poisonedGaveUp(this.deps.settings.maxDequeueCount, entry?.record.lastError, REQUEST_JOB);
    this.deps.telemetry.trackRequest({ requestId, outcome: 'failed', errorCode: error.code, durationMs: 0 });
    if (entry) {
      await this.reconciliation.settleBeforeEnd(entry);
      await this.seatLimit.releaseUnspent(entry.record);
    }
    const failed = failedResult(error, requestId, readContextLoosely(message), this.now());
    // A record that cannot take the outcome (changed meanwhile) must not cost the message its one result.
    return entry ? this.complete(entry, failed).catch(() => unstored(failed)) : unstored(failed);
  }

  private validOrUndefined(message: unknown): PkcsRequest | undefined {
    try {
      return parseRequestMessage(message, { caAllowedHosts: this.deps.settings.caAllowedHosts });
    } catch {
      return undefined;
    }
  }

  /** Why a poison message may not touch the ledger: its signature (when signing is on) does not hold. */
  private async signatureRefusal(request: PkcsRequest): Promise<BrokerError | undefined> {
    return this.authentication.assertAuthentic(request, 'request', request.requestId).then(
      () => undefined,
      (error: unknown) => toBrokerError(error, REQUEST_JOB),
    );
  }

  /**
   * The request's record, or a new one if it has none (every delivery ended before recording anything), so that
   * its GAVE_UP is stored and a repeat replays it.
   */
  private async ledgerEntryFor(request: PkcsRequest): Promise<LedgerEntry | undefined> {
    // An unreadable ledger counts as no record: the message still ends as one result (GAVE_UP without the last
    // error) rather than none, and the record, if there is one, is left as it is.
    const record = await this.deps.ledger.open(recordedAs(request)).catch(() => undefined);
    // A poison message that reused the id for another body must not take over the first request's record.
    if (!record || record.requestHash !== requestHash(request)) return undefined;
    return new LedgerEntry(this.deps.ledger, this.deps.telemetry, record);
  }

  private async issue(
    request: PkcsRequest,
    entry: LedgerEntry,
    finalDelivery: boolean,
    seat: { reserved?: SeatRef },
  ): Promise<IssuedResult> {
    const { settings, ca } = this.deps;
    assertRequestAllowed(request, settings);
    const recipient = parseRecipientCertificate(request.recipientCertificate, this.now());
    const policy = await ca.getPolicy(request.certificateAuthority, request.certificateTemplateName);
    const plan = planEnrollment(request, policy, { fieldMap: settings.profileFieldMap });
    // The plan exists only when the profile carries the SID; it is confirmed before anything reaches the CA.
    if (settings.sidVerifyWithGraph && request.securityIdentifier !== undefined)
      await this.deps.sidOwnership?.verify(plan.upn, request.securityIdentifier);
    await assertSupersedable(ca, request, plan);
    const late = await this.reconciliation.settleEarlierAttempt(entry, finalDelivery);
    const { keys, response } = late ?? (await this.enroll(request, entry, plan, seat));
    // Parsed once here, used as parsed by the PFX and the summary.
    const issued = parseIssuedToken(response, keys.publicKey, parsedCaCertificatesOfPolicy(policy.cas), plan);

    const password = createPfxPassword();
    const pfx = buildPfxOfCertificates({
      privateKey: keys.privateKey,
      leaf: issued.leaf,
      chain: issued.chain,
      password,
      encryption: settings.pfxEncryption,
    });
    return {
      schemaVersion: 1,
      requestId: request.requestId,
      status: 'issued',
      completedAt: this.now().toISOString(),
      certificate: withSuperseded(summarizeIssued(issued), supersededSerial(request.supersedes)),
      pfx: { data: pfx.toString('base64'), password: encryptPasswordForRecipient(password, recipient) },
      ...(request.context === undefined ? {} : { context: request.context }),
    };
  }

  /**
   * A new key, its CSR and one enrollment, reconciled with the CA when the answer is lost. The seat is
   * reserved once the CSR is made (a CSR the encoder refuses costs no reservation), before anything is sent.
   */
  private async enroll(
    request: PkcsRequest,
    entry: LedgerEntry,
    plan: EnrollmentPlan,
    seat: { reserved?: SeatRef },
  ): Promise<KeyAndToken> {
    const { ca, ledger } = this.deps;
    const keys = await (this.deps.keys ?? directKeys).take(plan.keySize);
    const csrDer = createCsr(plan, keys);
    seat.reserved = await this.seatLimit.admit(entry.record, plan.seatId, this.now());
    const attempt = {
      attempt: (entry.record.enrollment?.attempt ?? 0) + 1,
      clientTransactionId: randomUUID(),
      publicKeySha256: publicKeySha256(keys.publicKey),
      startedAt: this.now().toISOString(),
      ...(plan.seatId === undefined ? {} : { seatId: plan.seatId }),
    };
    // Recorded before sending: whatever happens next, the ledger knows which key to look for at the CA. For a
    // new request this is the record's first write (the insert): two deliveries racing both reach it, one wins.
    entry.record = await ledger.recordEnrollment(entry.record, attempt);
    try {
      const response = await ca.enroll(request.certificateAuthority, {
        profileOid: request.certificateTemplateName,
        clientTransactionId: attempt.clientTransactionId,
        csrDer,
        nameValuePairs: plan.nameValuePairs,
      });
      return { keys, response };
    } catch (caught) {
      // Only the CA's own "no" proves nothing was issued; an unforeseen failure may have come after it did.
      const ambiguous = !isBrokerError(caught) || caught.ambiguous;
      // The CA may have issued although its answer was lost. The key is still in hand: ask, and use it.
      const issued = ambiguous
        ? await this.reconciliation.answerLost(entry, attempt, keys, caught)
        : undefined;
      if (issued !== undefined) return issued;
      const error = toBrokerError(caught, REQUEST_JOB);
      entry.record = await ledger.recordAttemptEnded(entry.record, {
        nothingIssued: !ambiguous,
        error: { code: error.code, message: error.message },
      });
      throw caught;
    }
  }

  /** Stores the result as it will be published, then hands it over for publishing. */
  private async complete(entry: LedgerEntry, result: PkcsResult): Promise<PipelineOutcome> {
    assertPublishable(result);
    const json = JSON.stringify(result);
    entry.record = await this.deps.ledger.recordOutcome(entry.record, result, json);
    this.reconciliation.requestEnded(entry.record.requestId);
    return withFollowUp({ kind: 'result', result, json, replayed: false }, entry.record.caHost);
  }
}

/** What the ledger knows a request by. */
/** The stored record of exactly this request body (records are written only after the message passed). */
function isOwnStoredRecord(record: LedgerRecord, request: PkcsRequest): boolean {
  // eslint-disable-next-line security/detect-possible-timing-attacks -- a hash of the message to tell a changed repeat, not a secret
  return isStored(record) && record.requestHash === requestHash(request);
}

function recordedAs(request: PkcsRequest): RequestIdentity {
  return {
    requestId: request.requestId,
    requestHash: requestHash(request),
    profileOid: request.certificateTemplateName,
    caHost: request.certificateAuthority,
  };
}

/**
 * When the request was first seen, if not now: a redelivery that finds no record (earlier deliveries ended
 * before recording anything) dates it from the message's insertion, the earliest any delivery can have seen it.
 */
function firstSeen(delivery: Delivery): { seenSince?: Date } {
  return delivery.dequeueCount > 1 && delivery.insertedAt !== undefined
    ? { seenSince: delivery.insertedAt }
    : {};
}

/** The user or device a request is for (an e-mail address or UPN), for correlating telemetry. */
function identityOf(request: PkcsRequest): string | undefined {
  const san = request.subjectAlternativeNames?.find(
    (entry) => entry.type !== 'AltNameTypeOtherName' && entry.value,
  );
  if (san) return san.value;
  try {
    return parseSubjectName(request.subjectName).email;
  } catch {
    return undefined;
  }
}

/**
 * One request's way through the broker: validate → ledger → recipient → policy → mapping → (SID ownership)
 * → key and CSR → enroll → chain → PFX → result. Orchestration only: protocol, mapping, crypto and storage details live in
 * their modules.
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
import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import type { BrokerSettings } from '../config/settings';
import { BrokerError, isBrokerError, resultErrorOf } from '../contract/errors';
import type {
  FailedResult,
  IssuedCertificateSummary,
  IssuedResult,
  PkcsRequest,
  PkcsResult,
} from '../contract/types';
import {
  parseRequestMessage,
  readContextLoosely,
  readRequestIdLoosely,
  validateResult,
} from '../contract/validate';
import {
  buildPfx,
  caCertificatesOfPolicy,
  createCsr,
  createPfxPassword,
  encryptPasswordForRecipient,
  generateKeyPair,
  parseIssuedToken,
  parseRecipientCertificate,
  summarizeCertificate,
} from '../crypto';
import type { CaCertificateRecord, DigicertCa, EnrollmentResponse } from '../digicert/types';
import type { SidOwnershipCheck } from '../identity/sidOwnership';
import { type LedgerRecord, type RequestLedger } from '../ledger/types';
import { parseSubjectName, planEnrollment, type EnrollmentPlan } from '../mapping';
import { findCertificatesForAttempt, HeldEnrollmentKeys, publicKeySha256 } from './reconciliation';
import { assertRequestAllowed } from '../guardrails/requestGuardrails';
import { supersededSerial, supersedeRevocationMessage } from './supersede';
import { canonicalJson } from '../contract/canonicalJson';
import { decide, REQUEST_JOB, toBrokerError } from '../delivery';
import { withRequestCorrelation, type ReconciliationTelemetry, type Telemetry } from '../telemetry/telemetry';

export interface Delivery {
  /** How many times the queue has handed this message out, this time included (1 on first delivery). */
  dequeueCount: number;
  /** When the message was put on the queue (the trigger's insertionTime), for the queue-wait metric. */
  insertedAt?: Date;
}

export type PipelineOutcome =
  /** Publish `json` (the result exactly as stored, so repeats are byte-identical). */
  | {
      kind: 'result';
      result: PkcsResult;
      json: string;
      replayed: boolean;
      /** A revocation message to send on PKCS_REVOKE_QUEUE with the result (a superseded certificate). */
      revocation?: string;
    }
  | { kind: 'retry'; error: BrokerError; requestId: string | null }
  /** Put the message back on the request queue, invisible for `delaySeconds`; publish nothing. */
  | { kind: 'defer'; error: BrokerError; requestId: string; delaySeconds: number };

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
}

/** The key pair and the CA's token for it: what the PFX is built from. */
interface KeyAndToken {
  keys: { privateKey: KeyObject; publicKey: KeyObject };
  response: EnrollmentResponse;
}

/** The ledger record of the request in hand, kept current across the steps that write it. */
class LedgerEntry {
  constructor(
    private readonly ledger: RequestLedger,
    private readonly telemetry: Telemetry,
    public record: LedgerRecord,
  ) {}

  /** Records that the request went back on the queue to wait out an outage. */
  async deferred(text: string): Promise<void> {
    this.record = await this.ledger.recordEvent(this.record, text);
  }

  /** Records what reconciliation did, in the ledger and in telemetry. */
  async reconciled(event: ReconciliationTelemetry, text: string): Promise<void> {
    this.telemetry.trackReconciliation(event);
    this.record = await this.ledger.recordEvent(this.record, text);
  }
}

export class CertificatePipeline {
  private readonly now: () => Date;
  private readonly heldKeys: HeldEnrollmentKeys;

  constructor(private readonly deps: PipelineDependencies) {
    if (deps.settings.sidVerifyWithGraph && deps.sidOwnership === undefined) {
      throw new Error('internal error: SID_VERIFY_WITH_GRAPH is on, but the pipeline was given no SID check');
    }
    this.now = deps.now ?? (() => new Date());
    this.heldKeys = deps.heldKeys ?? new HeldEnrollmentKeys();
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
      const begun = await this.deps.ledger.begin({
        requestId: request.requestId,
        requestHash: requestHash(request),
        profileOid: request.certificateTemplateName,
        caHost: request.certificateAuthority,
      });
      if (begun.record.requestHash !== requestHash(request)) {
        // Not recorded: the ledger keeps the first request under this id.
        const error = new BrokerError(
          'INVALID_REQUEST',
          `requestId "${request.requestId}" was already used on ${begun.record.createdAt} for a different request; the broker never issues twice under one requestId.`,
          { remedy: 'Send a new request with a new requestId (the first request keeps its own result).' },
        );
        track('failed', { errorCode: error.code });
        return this.publish(this.failure(error, request.requestId, request.context));
      }
      entry = new LedgerEntry(this.deps.ledger, this.deps.telemetry, begun.record);
      const stored = replayOf(entry.record);
      if (stored) {
        track('replayed');
        return stored;
      }
      const finalDelivery = delivery.dequeueCount >= this.deps.settings.maxDequeueCount;
      const result = await this.issue(request, entry, finalDelivery);
      track('issued', { serial: result.certificate.serialNumber });
      return await this.complete(entry, result);
    } catch (caught) {
      const requestId = request?.requestId ?? readRequestIdLoosely(message);
      const decision = decide(caught, delivery, entry?.record, this.deps.settings, this.now(), REQUEST_JOB);
      const { error } = decision;
      track(decision.kind === 'fail' ? 'failed' : 'retrying', { errorCode: error.code });
      if (entry) {
        await this.deps.ledger
          .recordTransientFailure(entry.record, { code: error.code, message: error.message })
          .then((record) => entry && (entry.record = record))
          .catch(() => undefined);
      }
      if (decision.kind === 'retry') return { kind: 'retry', error, requestId };
      if (decision.kind === 'defer') {
        const waiting = entry!; // decide defers only a request that has a record
        await waiting
          .deferred(
            `deliveries used up by ${error.code}; back on the queue in ${decision.seconds} s (waits up to REQUEST_MAX_WAIT_MINUTES from ${waiting.record.createdAt})`,
          )
          .catch(() => undefined);
        return { kind: 'defer', error, requestId: waiting.record.requestId, delaySeconds: decision.seconds };
      }
      // Whatever ends the request now (a retryable error out of time, or a permanent one such as a recipient
      // certificate that expired between deliveries), no certificate of an unsettled attempt may stay VALID.
      if (entry) await this.settleLostEnrollment(entry).catch(() => undefined);
      const failed = this.failure(
        decision.reported,
        requestId,
        request?.context ?? readContextLoosely(message),
      );
      return entry ? await this.complete(entry, failed) : this.publish(failed);
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
    const entry = requestId === null ? undefined : await this.ledgerEntryFor(requestId, message);
    const stored = entry && replayOf(entry.record);
    if (stored) return stored;
    const last = entry?.record.lastError;
    const error = new BrokerError(
      'GAVE_UP',
      `The request was delivered ${this.deps.settings.maxDequeueCount} times and no delivery completed, so it was moved to the poison queue` +
        (last
          ? `; the last error was ${last.code}: ${last.message}`
          : ' (the broker failed or was stopped while handling it).'),
      { retryable: false },
    );
    this.deps.telemetry.trackRequest({ requestId, outcome: 'failed', errorCode: error.code, durationMs: 0 });
    if (entry) await this.settleLostEnrollment(entry).catch(() => undefined);
    const failed = this.failure(error, requestId, readContextLoosely(message));
    return entry ? this.complete(entry, failed).catch(() => this.publish(failed)) : this.publish(failed);
  }

  private async ledgerEntryFor(requestId: string, message: unknown): Promise<LedgerEntry | undefined> {
    const record = await this.deps.ledger.get(requestId).catch(() => undefined);
    if (!record) return undefined;
    // A poison message that reused the id for another body must not take over the first request's record.
    try {
      const request = parseRequestMessage(message, { caAllowedHosts: this.deps.settings.caAllowedHosts });
      if (requestHash(request) !== record.requestHash) return undefined;
    } catch {
      return undefined;
    }
    return new LedgerEntry(this.deps.ledger, this.deps.telemetry, record);
  }

  private async issue(
    request: PkcsRequest,
    entry: LedgerEntry,
    finalDelivery: boolean,
  ): Promise<IssuedResult> {
    const { settings, ca } = this.deps;
    assertRequestAllowed(request, settings);
    const recipient = parseRecipientCertificate(request.recipientCertificate, this.now());
    const policy = await ca.getPolicy(request.certificateAuthority, request.certificateTemplateName);
    const plan = planEnrollment(request, policy, { fieldMap: settings.profileFieldMap });
    // The plan exists only when the profile carries the SID; it is confirmed before anything reaches the CA.
    if (settings.sidVerifyWithGraph && request.securityIdentifier !== undefined)
      await this.deps.sidOwnership?.verify(plan.upn, request.securityIdentifier);
    await this.assertSupersedable(request, plan);
    const late = await this.settleEarlierAttempt(entry, finalDelivery);
    const { keys, response } = late ?? (await this.enroll(request, entry, plan));
    const { leafPem, chainPem } = parseIssuedToken(
      response,
      keys.publicKey,
      caCertificatesOfPolicy(policy.cas),
    );

    const password = createPfxPassword();
    const pfx = buildPfx({
      privateKey: keys.privateKey,
      leafPem,
      chainPem,
      password,
      encryption: settings.pfxEncryption,
    });
    return {
      schemaVersion: 1,
      requestId: request.requestId,
      status: 'issued',
      completedAt: this.now().toISOString(),
      certificate: withSuperseded(
        summarizeCertificate(leafPem, chainPem),
        supersededSerial(request.supersedes),
      ),
      pfx: { data: pfx.toString('base64'), password: encryptPasswordForRecipient(password, recipient) },
      ...(request.context === undefined ? {} : { context: request.context }),
    };
  }

  /**
   * `supersedes` must name a certificate of the same seat at the same CA: otherwise a request for one user
   * could have another user's certificate revoked. Checked before anything is enrolled.
   */
  private async assertSupersedable(request: PkcsRequest, plan: EnrollmentPlan): Promise<void> {
    const serialNumber = supersededSerial(request.supersedes);
    if (serialNumber === undefined) return;
    const found = await this.deps.ca.searchCertificates(request.certificateAuthority, { serialNumber });
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

  /** A new key, its CSR and one enrollment, reconciled with the CA when the answer is lost. */
  private async enroll(request: PkcsRequest, entry: LedgerEntry, plan: EnrollmentPlan): Promise<KeyAndToken> {
    const { ca, ledger } = this.deps;
    const keys = await generateKeyPair(plan.keySize);
    const csrDer = createCsr(plan, keys);
    const attempt = {
      attempt: (entry.record.enrollment?.attempt ?? 0) + 1,
      clientTransactionId: randomUUID(),
      publicKeySha256: publicKeySha256(keys.publicKey),
      startedAt: this.now().toISOString(),
      ...(plan.seatId === undefined ? {} : { seatId: plan.seatId }),
    };
    // Recorded before sending: whatever happens next, the ledger knows which key to look for at the CA.
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
      const ended = async (): Promise<void> => {
        const error = toBrokerError(caught, REQUEST_JOB);
        entry.record = await ledger.recordAttemptEnded(entry.record, {
          nothingIssued: !ambiguous,
          error: { code: error.code, message: error.message },
        });
      };
      if (!ambiguous) {
        await ended();
        throw caught;
      }
      // The CA may have issued although its answer was lost. The key is still in hand: ask, and use it.
      const found = await findCertificatesForAttempt(
        ca,
        request.certificateAuthority,
        request.certificateTemplateName,
        attempt,
      );
      if (found.length === 0) {
        // It may still issue late: the next delivery asks again before anything else, and uses what it finds
        // if it runs on this instance (the key is held here), else revokes it.
        this.heldKeys.hold(request.requestId, attempt.attempt, {
          privateKey: keys.privateKey,
          publicKey: keys.publicKey,
          publicKeySha256: attempt.publicKeySha256,
        });
        await ended();
        throw caught;
      }
      const kept = await this.keepOne(entry, attempt.attempt, found, 'revoked-duplicate');
      await entry.reconciled(
        {
          requestId: request.requestId,
          attempt: attempt.attempt,
          action: 'used-issued-certificate',
          serialNumber: kept.serialNumber,
        },
        `enrollment attempt ${attempt.attempt} got no answer (${toBrokerError(caught, REQUEST_JOB).code}); the CA had issued ${kept.serialNumber} for our key, which is used`,
      );
      return { keys, response: { tokenDer: kept.certificateDer!, tokenType: 'X509v3' } };
    }
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

  /**
   * The record says an earlier delivery sent an enrollment and never finished. If that delivery may still
   * be running (within its time budget), wait: the message comes back later. Otherwise ask the CA what it
   * issued for that attempt: a certificate whose key this instance still holds is used (returned); one whose
   * key is lost is a stray, revoked before enrolling again; nothing found is waited on while the CA may still
   * issue late (CA_LATE_ISSUE_WINDOW_SECONDS).
   */
  private async settleEarlierAttempt(
    entry: LedgerEntry,
    finalDelivery: boolean,
  ): Promise<KeyAndToken | undefined> {
    const attempt = entry.record.enrollment;
    if (entry.record.state !== 'enrolling' || attempt === undefined) return undefined;
    // How long the delivery that sent it could still be at it: every attempt's connect and answer time, plus
    // room for the waits between attempts.
    const { caConnectTimeoutMs, caRequestTimeoutMs, caMaxAttempts } = this.deps.settings;
    const budgetEnds =
      Date.parse(attempt.startedAt) + caMaxAttempts * (caConnectTimeoutMs + caRequestTimeoutMs + 1000) + 5000;
    // On the queue's last delivery, waiting would only turn a crash into GAVE_UP: settle it now instead.
    if (!finalDelivery && attempt.endedAt === undefined && this.now().getTime() < budgetEnds) {
      throw new BrokerError(
        'CA_UNAVAILABLE',
        `Another delivery of request ${entry.record.requestId} sent enrollment attempt ${attempt.attempt} at ${attempt.startedAt} and may still be waiting for the CA; this delivery waits rather than enroll twice.`,
        { retryable: true },
      );
    }
    return this.settleLostEnrollment(entry, { awaitLateIssue: true });
  }

  /**
   * Settles what the CA issued for an attempt whose answer was lost: with a held key the certificate is used
   * (returned), without one it is revoked. With `awaitLateIssue`, finding nothing while the CA may still issue
   * is a retryable wait, not the last word. Best effort is the caller's choice.
   */
  private async settleLostEnrollment(
    entry: LedgerEntry,
    options: { awaitLateIssue: boolean } = { awaitLateIssue: false },
  ): Promise<KeyAndToken | undefined> {
    const attempt = entry.record.enrollment;
    if (entry.record.state !== 'enrolling' || attempt === undefined || attempt.nothingIssued)
      return undefined;
    const { caHost, profileOid, requestId } = entry.record;
    const found = await findCertificatesForAttempt(this.deps.ca, caHost, profileOid, attempt);
    const held =
      found.length > 0 ? this.heldKeys.take(requestId, attempt.attempt, attempt.publicKeySha256) : undefined;
    if (held !== undefined) {
      const kept = await this.keepOne(entry, attempt.attempt, found, 'revoked-duplicate');
      await entry.reconciled(
        {
          requestId,
          attempt: attempt.attempt,
          action: 'used-issued-certificate',
          serialNumber: kept.serialNumber,
        },
        `the CA issued ${kept.serialNumber} late for attempt ${attempt.attempt}, whose key this instance still held; it is used`,
      );
      return {
        keys: { privateKey: held.privateKey, publicKey: held.publicKey },
        response: { tokenDer: kept.certificateDer!, tokenType: 'X509v3' },
      };
    }
    for (const stray of found) {
      await this.deps.ca.revokeCertificate(
        caHost,
        stray.serialNumber,
        'Superseded',
        `key lost: request ${requestId} attempt ${attempt.attempt}`,
      );
      await entry.reconciled(
        { requestId, attempt: attempt.attempt, action: 'revoked-stray', serialNumber: stray.serialNumber },
        `revoked stray certificate ${stray.serialNumber} of attempt ${attempt.attempt}: its private key was lost with the delivery that enrolled it`,
      );
    }
    if (found.length === 0) {
      // From when the attempt gave up on its answer: the send itself may have come late in a long attempt.
      const lateUntil =
        Date.parse(attempt.endedAt ?? attempt.startedAt) + this.deps.settings.caLateIssueWindowSeconds * 1000;
      // Without a seat nothing can be searched for (findCertificatesForAttempt), so waiting cannot help.
      if (options.awaitLateIssue && attempt.seatId !== undefined && this.now().getTime() < lateUntil) {
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
      const stillOpen = attempt.seatId !== undefined && this.now().getTime() < lateUntil;
      await entry.reconciled(
        { requestId, attempt: attempt.attempt, action: 'nothing-issued' },
        stillOpen
          ? `attempt ${attempt.attempt} left no certificate at the CA so far; the CA may still issue it until ${new Date(lateUntil).toISOString()}, and such a certificate (for the seat in this record) must be revoked by hand`
          : `attempt ${attempt.attempt} left no certificate at the CA`,
      );
    }
    return undefined;
  }

  /** Stores the result as it will be published, then hands it over for publishing. */
  private async complete(entry: LedgerEntry, result: PkcsResult): Promise<PipelineOutcome> {
    assertPublishable(result);
    const json = JSON.stringify(result);
    entry.record = await this.deps.ledger.recordOutcome(entry.record, result, json);
    return withFollowUp({ kind: 'result', result, json, replayed: false }, entry.record.caHost);
  }

  private publish(result: PkcsResult): PipelineOutcome {
    assertPublishable(result);
    return { kind: 'result', result, json: JSON.stringify(result), replayed: false };
  }

  private failure(
    error: BrokerError,
    requestId: string | null,
    context: Record<string, unknown> | undefined,
  ): FailedResult {
    return {
      schemaVersion: 1,
      requestId,
      status: 'failed',
      completedAt: this.now().toISOString(),
      error: resultErrorOf(error),
      ...(context === undefined ? {} : { context }),
    };
  }
}

/** The stored result of a request that already has one, to publish again unchanged. */
function replayOf(record: LedgerRecord): PipelineOutcome | undefined {
  if ((record.state !== 'issued' && record.state !== 'failed') || record.resultJson === undefined)
    return undefined;
  // The supersede revocation goes out again too: a host that died after storing the result may not have
  // sent it, and the revocation queue answers a repeated revocationId with its stored result.
  return withFollowUp(
    {
      kind: 'result',
      result: JSON.parse(record.resultJson) as PkcsResult,
      json: record.resultJson,
      replayed: true,
    },
    record.caHost,
  );
}

/** Adds the revocation of the superseded certificate to an issued result that names one. */
function withFollowUp(
  outcome: Extract<PipelineOutcome, { kind: 'result' }>,
  caHost: string,
): Extract<PipelineOutcome, { kind: 'result' }> {
  if (outcome.result.status !== 'issued') return outcome;
  const revocation = supersedeRevocationMessage(outcome.result, caHost);
  return revocation === undefined ? outcome : { ...outcome, revocation };
}

function withSuperseded(
  certificate: IssuedCertificateSummary,
  superseded: string | undefined,
): IssuedCertificateSummary {
  return superseded === undefined ? certificate : { ...certificate, supersededSerialNumber: superseded };
}

/** SHA-256 of the request with its keys sorted: the same request always hashes the same. */
export function requestHash(request: PkcsRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
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

/** A result that breaks our own published schema is a bug: fail loudly rather than send it downstream. */
function assertPublishable(result: PkcsResult): void {
  const check = validateResult(result);
  if (!check.valid)
    throw new Error(`internal error: result does not match result.v1 schema: ${check.errors.join('; ')}`);
}

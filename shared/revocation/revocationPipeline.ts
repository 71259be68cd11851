/**
 * One revocation message's way through the broker: validate → revocation ledger → which certificate (the
 * serial, or the requestId's serial from the request ledger) → ask the CA for it (searchCertificate by serial)
 * → Revoke (updateCertificateStatus) → one result per revocationId.
 *
 * Guarantees, as for issuance: a repeated or redelivered message republishes the stored result byte for byte;
 * a transient failure leaves the message on the queue (retry) until its deliveries are used up, then GAVE_UP;
 * a poison message still ends as one result. Asking the CA first tells "unknown serial" (CERTIFICATE_NOT_FOUND)
 * and "revoked before" (alreadyRevoked) apart from a revocation this broker made on an earlier delivery.
 */
import { createHash } from 'node:crypto';
import type { BrokerSettings } from '../config/settings';
import { isSameCaHost } from '../contract/caHosts';
import { BrokerError, resultErrorOf } from '../contract/errors';
import type {
  FailedRevocationResult,
  PkcsResult,
  RevocationReasonCode,
  RevocationRequest,
  RevocationResult,
  RevokedResult,
} from '../contract/types';
import { readContextLoosely } from '../contract/validate';
import {
  parseRevocationMessage,
  readRevocationIdLoosely,
  validateRevocationResult,
} from '../contract/validateRevocation';
import { normalizeSerialNumber } from '../digicert/management';
import type { DigicertCa } from '../digicert/types';
import type { RevocationLedger, RevocationRecord, RevocationTarget } from '../ledger/revocationLedger';
import { isStored, LedgerConflictError, type RequestLedger } from '../ledger/types';
import { decide, poisonedGaveUp, REVOCATION_JOB, toBrokerError } from '../delivery';
import { SUPERSEDE_REVOCATION_SUFFIX, supersedeRevocationMessage } from '../issuance/supersede';
import type { Telemetry } from '../telemetry/telemetry';
import { canonicalJson } from '../contract/canonicalJson';
import { withoutSignature } from '../guardrails/requestSignature';
import { MessageAuthentication } from '../request-signing/messageAuthentication';

export type RevocationOutcome =
  | { kind: 'result'; result: RevocationResult; json: string; replayed: boolean }
  | { kind: 'retry'; error: BrokerError; revocationId: string | null }
  /** Put the message back on the revocation queue, invisible for `delaySeconds`; publish nothing. */
  | { kind: 'defer'; error: BrokerError; revocationId: string; delaySeconds: number };

export interface RevocationDependencies {
  settings: BrokerSettings;
  ca: DigicertCa;
  requests: RequestLedger;
  revocations: RevocationLedger;
  telemetry: Telemetry;
  now?: () => Date;
  /** Checks the signature of every revocation when REQUEST_SIGNING_SECRET_NAME is set (default: off). */
  authentication?: MessageAuthentication;
}

export class RevocationPipeline {
  private readonly now: () => Date;
  private readonly authentication: MessageAuthentication;

  constructor(private readonly deps: RevocationDependencies) {
    this.now = deps.now ?? (() => new Date());
    this.authentication = deps.authentication ?? new MessageAuthentication({ maxAgeDays: 0 });
  }

  async process(message: unknown, delivery: { dequeueCount: number }): Promise<RevocationOutcome> {
    const started = Date.now();
    let revocation: RevocationRequest | undefined;
    // The record as last written (revoke() writes it too), so every write carries the current ETag.
    const held: { record?: RevocationRecord } = {};
    try {
      revocation = parseRevocationMessage(message, { caAllowedHosts: this.deps.settings.caAllowedHosts });
      const hash = messageHash(revocation);
      const record = await this.deps.revocations.open({
        revocationId: revocation.revocationId,
        messageHash: hash,
      });
      // Checked before the id is recorded, so a forged message cannot take an id first; a stored record of
      // this very message passed already, and is carried to its end whatever the signing key does now.
      if (!isOwnStoredRecord(record, hash)) await this.authenticate(revocation);
      // eslint-disable-next-line security/detect-possible-timing-attacks -- a hash of the message to tell a changed repeat, not a secret
      if (record.messageHash !== hash) {
        // Not recorded: the ledger keeps the first revocation under this id.
        throw new BrokerError(
          'INVALID_REQUEST',
          `revocationId "${revocation.revocationId}" was already used on ${record.createdAt} for a different revocation; the broker never acts twice under one revocationId.`,
          { remedy: 'Send a new revocation with a new revocationId (the first one keeps its own result).' },
        );
      }
      if (record.resultJson !== undefined) return replay(record.resultJson);
      held.record = record;
      const result = await this.revoke(revocation, held as { record: RevocationRecord });
      this.track(result, started);
      return await this.complete(held.record, result);
    } catch (caught) {
      const error = toBrokerError(caught, REVOCATION_JOB);
      const revocationId = revocation?.revocationId ?? readRevocationIdLoosely(message);
      const { record } = held;
      if (error.retryable && record !== undefined) {
        held.record = await this.deps.revocations
          .recordTransientFailure(record, { code: error.code, message: error.message })
          // lastError only feeds the poison queue's GAVE_UP text: a failed write keeps the record as read.
          .catch(() => record);
      }
      // Only a stored record dates the revocation: a deferred message comes back as a new one, and with no
      // record its wait would start over.
      const dated = held.record !== undefined && isStored(held.record) ? held.record : undefined;
      const decision = decide(error, delivery, dated, this.deps.settings, this.now(), REVOCATION_JOB);
      if (decision.kind === 'retry') return { kind: 'retry', error, revocationId };
      // An outage outlasting the deliveries is waited out as for requests (REQUEST_MAX_WAIT_MINUTES): a
      // superseded certificate must not stay VALID because the CA was down for a few minutes.
      if (decision.kind === 'defer') {
        // decide defers only a revocation that has a stored record.
        return {
          kind: 'defer',
          error,
          revocationId: held.record!.revocationId,
          delaySeconds: decision.seconds,
        };
      }
      const settled =
        held.record !== undefined && revocation !== undefined
          ? await this.settleSentRevocation(revocation, held.record)
          : undefined;
      if (settled !== undefined) {
        this.track(settled, started);
        return this.complete(held.record!, settled);
      }
      const failed = this.failure(
        decision.reported,
        revocationId,
        revocation?.context ?? readContextLoosely(message),
      );
      this.track(failed, started);
      // held.record is set only for this message's own record (a reused id with another body never is).
      return held.record !== undefined ? this.complete(held.record, failed) : publish(failed);
    }
  }

  /** A message the queue gave up on: the stored result if there is one, else GAVE_UP with the last error. */
  async poisoned(message: unknown): Promise<RevocationOutcome> {
    const revocationId = readRevocationIdLoosely(message);
    let record: RevocationRecord | undefined;
    let hash: string | undefined;
    try {
      const revocation = parseRevocationMessage(message, {
        caAllowedHosts: this.deps.settings.caAllowedHosts,
      });
      hash = messageHash(revocation);
      record = await this.deps.revocations.open({
        revocationId: revocation.revocationId,
        messageHash: hash,
      });
      const refusal = isOwnStoredRecord(record, hash)
        ? undefined
        : await this.authenticate(revocation).then(
            () => undefined,
            (error: unknown) => toBrokerError(error, REVOCATION_JOB),
          );
      if (refusal !== undefined) {
        // Not recorded: a forged message written straight to the poison queue must not end a real id.
        const refused = this.failure(refusal, revocationId, readContextLoosely(message));
        this.track(refused, Date.now());
        return publish(refused);
      }
    } catch {
      record = undefined;
    }
    const own = record !== undefined && record.messageHash === hash;
    if (own && record!.resultJson !== undefined) return replay(record!.resultJson);
    const last = own ? record!.lastError : undefined;
    const failed = this.failure(
      poisonedGaveUp(this.deps.settings.maxDequeueCount, last, REVOCATION_JOB),
      revocationId,
      readContextLoosely(message),
    );
    this.track(failed, Date.now());
    // A record that cannot take the outcome (changed meanwhile) must not cost the message its one result.
    return own ? this.complete(record!, failed).catch(() => publish(failed)) : publish(failed);
  }

  private async revoke(
    revocation: RevocationRequest,
    held: { record: RevocationRecord },
  ): Promise<RevokedResult> {
    const reason: RevocationReasonCode = revocation.reason ?? 'Unspecified';
    const target = await this.targetOf(revocation);
    const { ca } = this.deps;
    const found = await ca.searchCertificates(target.caHost, { serialNumber: target.serialNumber });
    const certificate = found.find((candidate) => candidate.serialNumber === target.serialNumber);
    if (certificate === undefined) {
      throw new BrokerError(
        'CERTIFICATE_NOT_FOUND',
        `serialNumber ${target.serialNumber}: the CA at ${target.caHost} has no certificate with this serial number${target.requestId === undefined ? '' : ` (the certificate of request ${target.requestId})`}.`,
      );
    }
    // Revoked by an earlier delivery of this very revocation (its answer lost) is this revocation's doing.
    const sentBefore = held.record.state === 'revoking';
    let alreadyRevoked = certificate.status === 'REVOKED' && !sentBefore;
    if (certificate.status !== 'REVOKED') {
      held.record = await this.deps.revocations.recordRevoking(held.record, target);
      alreadyRevoked = false;
      await ca.revokeCertificate(target.caHost, target.serialNumber, reason, revocation.comment);
    }
    const completedAt = this.now().toISOString();
    if (target.requestId !== undefined)
      await this.noteOnIssuance(target.requestId, revocation, completedAt, alreadyRevoked);
    const result: RevokedResult = {
      schemaVersion: 1,
      revocationId: revocation.revocationId,
      status: 'revoked',
      completedAt,
      serialNumber: target.serialNumber,
      ...(target.requestId === undefined ? {} : { requestId: target.requestId }),
      reason,
      alreadyRevoked,
      ...(revocation.context === undefined ? {} : { context: revocation.context }),
    };
    return result;
  }

  /**
   * Before a revocation whose Revoke was sent ends as GAVE_UP: the CA may have carried it out although the
   * answer was lost. One best-effort look; a certificate found REVOKED is this revocation's doing.
   */
  private async settleSentRevocation(
    revocation: RevocationRequest,
    record: RevocationRecord,
  ): Promise<RevokedResult | undefined> {
    const target = record.target;
    if (record.state !== 'revoking' || target === undefined) return undefined;
    const found = await this.deps.ca
      .searchCertificates(target.caHost, { serialNumber: target.serialNumber })
      .catch(() => []);
    const certificate = found.find((candidate) => candidate.serialNumber === target.serialNumber);
    if (certificate?.status !== 'REVOKED') return undefined;
    return {
      schemaVersion: 1,
      revocationId: revocation.revocationId,
      status: 'revoked',
      completedAt: this.now().toISOString(),
      serialNumber: target.serialNumber,
      ...(target.requestId === undefined ? {} : { requestId: target.requestId }),
      reason: revocation.reason ?? 'Unspecified',
      alreadyRevoked: false,
      ...(revocation.context === undefined ? {} : { context: revocation.context }),
    };
  }

  /**
   * Whether the broker may act on the revocation: the broker's own supersede revocation proves itself by
   * being exactly what the ledger says it sent (it is not signed, so it stays the same message on every
   * replay); any other must carry a valid signature when signing is on.
   */
  private async authenticate(revocation: RevocationRequest): Promise<void> {
    if (revocation.revocationId.endsWith(SUPERSEDE_REVOCATION_SUFFIX)) {
      await this.assertOwnSupersede(revocation);
      return;
    }
    await this.authentication.assertAuthentic(revocation, 'revocation', revocation.revocationId);
  }

  /**
   * `<requestId>/supersede` is the broker's own revocation of the certificate request <requestId> replaced:
   * only that message may use it (anyone else could otherwise take the id first, and the real one would be
   * refused as a reuse, leaving the superseded certificate VALID).
   */
  private async assertOwnSupersede(revocation: RevocationRequest): Promise<void> {
    if (!revocation.revocationId.endsWith(SUPERSEDE_REVOCATION_SUFFIX)) return;
    const requestId = revocation.revocationId.slice(0, -SUPERSEDE_REVOCATION_SUFFIX.length);
    const issued = await this.deps.requests.get(requestId);
    const stored =
      issued?.state === 'issued' && issued.resultJson !== undefined
        ? (JSON.parse(issued.resultJson) as PkcsResult)
        : undefined;
    const expected =
      stored?.status === 'issued' ? supersedeRevocationMessage(stored, issued!.caHost) : undefined;
    if (expected === undefined || canonicalJson(JSON.parse(expected)) !== canonicalJson(revocation)) {
      throw new BrokerError(
        'INVALID_REQUEST',
        `revocationId "${revocation.revocationId}" ends in ${SUPERSEDE_REVOCATION_SUFFIX}, which is reserved for the broker's own revocation of the certificate request ${requestId} superseded.`,
        // Only the broker may send it: a copy under that id must not put a result there either.
        { remedy: 'Use a revocationId without the /supersede suffix.', detail: { unauthenticated: true } },
      );
    }
  }

  /** The certificate the message names: its serial and CA, from the message or from the issuance's record. */
  private async targetOf(revocation: RevocationRequest): Promise<RevocationTarget> {
    if (revocation.serialNumber !== undefined) {
      // Validated: hex, and certificateAuthority is present and allow-listed.
      return {
        serialNumber: normalizeSerialNumber(revocation.serialNumber)!,
        caHost: revocation.certificateAuthority!,
      };
    }
    const requestId = revocation.requestId!;
    const issued = await this.deps.requests.get(requestId);
    if (issued === undefined || issued.state !== 'issued' || issued.serialNumber === undefined) {
      throw new BrokerError(
        'CERTIFICATE_NOT_FOUND',
        issued === undefined
          ? `requestId "${requestId}": the broker has no record of this request.`
          : `requestId "${requestId}": the request has no issued certificate (it is ${issued.state}).`,
      );
    }
    if (
      revocation.certificateAuthority !== undefined &&
      !isSameCaHost(revocation.certificateAuthority, issued.caHost)
    ) {
      throw new BrokerError(
        'CA_NOT_ALLOWED',
        `certificateAuthority "${revocation.certificateAuthority}" is not the CA that issued the certificate of request ${requestId} (${issued.caHost}).`,
        {
          remedy: 'Leave certificateAuthority out when revoking by requestId, or name the CA that issued it.',
        },
      );
    }
    return { serialNumber: normalizeSerialNumber(issued.serialNumber)!, caHost: issued.caHost, requestId };
  }

  /** The issuance's record shows that its certificate was revoked, when and why (best effort: retried on conflict). */
  private async noteOnIssuance(
    requestId: string,
    revocation: RevocationRequest,
    revokedAt: string,
    alreadyRevoked: boolean,
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const issued = await this.deps.requests.get(requestId);
      if (issued === undefined || issued.revocation?.revocationId === revocation.revocationId) return;
      try {
        await this.deps.requests.recordRevocation(issued, {
          revocationId: revocation.revocationId,
          reason: revocation.reason ?? 'Unspecified',
          revokedAt,
          alreadyRevoked,
        });
        return;
      } catch (error) {
        if (!(error instanceof LedgerConflictError) || attempt >= 3) throw error;
      }
    }
  }

  private async complete(record: RevocationRecord, result: RevocationResult): Promise<RevocationOutcome> {
    const check = validateRevocationResult(result);
    if (!check.valid) {
      throw new Error(
        `internal error: revocation result does not match its schema: ${check.errors.join('; ')}`,
      );
    }
    const json = JSON.stringify(result);
    await this.deps.revocations.recordOutcome(record, result, json);
    return { kind: 'result', result, json, replayed: false };
  }

  private failure(
    error: BrokerError,
    revocationId: string | null,
    context: Record<string, unknown> | undefined,
  ): FailedRevocationResult {
    // As failedResult (issuance/outcomes.ts): an unauthenticated message gets no id and no context back.
    const unauthenticated = error.detail?.unauthenticated === true;
    return {
      schemaVersion: 1,
      revocationId: unauthenticated ? null : revocationId,
      status: 'failed',
      completedAt: this.now().toISOString(),
      error: resultErrorOf(error),
      ...(context === undefined || unauthenticated ? {} : { context }),
    };
  }

  private track(result: RevocationResult, started: number): void {
    this.deps.telemetry.trackRevocation?.({
      revocationId: result.revocationId,
      outcome: result.status,
      ...(result.status === 'revoked'
        ? { reason: result.reason, alreadyRevoked: result.alreadyRevoked, serialNumber: result.serialNumber }
        : { errorCode: result.error.code }),
      durationMs: Date.now() - started,
    });
  }
}

function replay(json: string): RevocationOutcome {
  return { kind: 'result', result: JSON.parse(json) as RevocationResult, json, replayed: true };
}

function publish(result: RevocationResult): RevocationOutcome {
  return { kind: 'result', result, json: JSON.stringify(result), replayed: false };
}

/** The stored record of exactly this message (records are written only after the message passed). */
function isOwnStoredRecord(record: RevocationRecord, hash: string): boolean {
  // eslint-disable-next-line security/detect-possible-timing-attacks -- a hash of the message to tell a changed repeat, not a secret
  return isStored(record) && record.messageHash === hash;
}

/** SHA-256 of the message's canonical JSON without its signature (the same revocation always hashes the same). */
function messageHash(revocation: RevocationRequest): string {
  return createHash('sha256')
    .update(canonicalJson(withoutSignature(revocation)))
    .digest('hex');
}

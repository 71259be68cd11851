/**
 * What a delivery of a request ends with, and the results it publishes: checked against the published
 * schema, stored results replayed byte for byte, an issued result's supersede revocation sent along.
 */
import { resultErrorOf, type BrokerError } from '../contract/errors';
import type { FailedResult, PkcsResult } from '../contract/types';
import { validateResult } from '../contract/validate';
import type { LedgerRecord } from '../ledger/types';
import { supersedeRevocationMessage } from './supersede';

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

export type ResultOutcome = Extract<PipelineOutcome, { kind: 'result' }>;

/** The stored result of a request that already has one, to publish again unchanged. */
export function replayOf(record: LedgerRecord): PipelineOutcome | undefined {
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
export function withFollowUp(outcome: ResultOutcome, caHost: string): ResultOutcome {
  if (outcome.result.status !== 'issued') return outcome;
  const revocation = supersedeRevocationMessage(outcome.result, caHost);
  return revocation === undefined ? outcome : { ...outcome, revocation };
}

/** A result published without being stored (no record of it can be kept, or it is not this request's). */
export function unstored(result: PkcsResult): PipelineOutcome {
  assertPublishable(result);
  return { kind: 'result', result, json: JSON.stringify(result), replayed: false };
}

export function failedResult(
  error: BrokerError,
  requestId: string | null,
  context: Record<string, unknown> | undefined,
  now: Date,
): FailedResult {
  // A message not shown to be the signing key holder's puts nothing under the id it names: no id, no context
  // (the id is in the error's text; see BrokerErrorDetail.unauthenticated).
  const unauthenticated = error.detail?.unauthenticated === true;
  return {
    schemaVersion: 1,
    requestId: unauthenticated ? null : requestId,
    status: 'failed',
    completedAt: now.toISOString(),
    error: resultErrorOf(error),
    ...(context === undefined || unauthenticated ? {} : { context }),
  };
}

/** A result that breaks our own published schema is a bug: fail loudly rather than send it downstream. */
export function assertPublishable(result: PkcsResult): void {
  const check = validateResult(result);
  if (!check.valid)
    throw new Error(`internal error: result does not match result.v1 schema: ${check.errors.join('; ')}`);
}

/**
 * How a LedgerRecord is laid out in an Azure Table entity. Flat, typed properties (readable in Storage
 * Explorer), the large texts chunked (chunking.ts). The etag is the service's, never a stored property.
 *
 *   PartitionKey = requestId, RowKey = "request"
 *   ledgerVersion, requestHash, state, profileOid, caHost, createdAt, updatedAt
 *   enrollmentAttempt, enrollmentClientTransactionId, enrollmentPublicKeySha256, enrollmentStartedAt,
 *   enrollmentSeatId, enrollmentEndedAt, enrollmentNothingIssued, lastErrorCode, lastErrorMessage, serialNumber, thumbprint, errorCode   (when set)
 *   revocationId, revocationReason, revokedAt, alreadyRevoked   (when its certificate was revoked)
 *   resultChunks + result_0…, eventsChunks + events_0… (the events as a JSON array of strings)
 */
import {
  TABLE_ENTITY_MAX_BYTES,
  estimateEntitySize,
  fromChunkProperties,
  toChunkProperties,
  type ChunkProperties,
} from './chunking';
import type { EnrollmentAttempt, LedgerRecord, LedgerState } from './types';

export const LEDGER_ROW_KEY = 'request';
export const LEDGER_ENTITY_VERSION = 1;
/** Only the latest events are kept: the record must stay far below the entity limit. */
export const MAX_LEDGER_EVENTS = 50;
export const MAX_EVENT_CHARS = 1_000;
export const MAX_ERROR_MESSAGE_CHARS = 4_000;
/** The contract allows 1–64 characters; the Table service allows keys up to 1 KiB. */
export const MAX_REQUEST_ID_CHARS = 256;

const LEDGER_STATES: readonly LedgerState[] = ['received', 'enrolling', 'issued', 'failed'];

export type LedgerEntity = { partitionKey: string; rowKey: string } & Record<string, string | number>;

/**
 * The Table service forbids `/ \ # ?` and control characters (U+0000–U+001F, U+007F–U+009F) in keys. The
 * contract's requestIds (`A-Z a-z 0-9 . _ : -`) never contain them, but the ledger must not depend on the
 * caller having validated.
 */
export function assertValidPartitionKey(requestId: string): void {
  if (requestId.length === 0 || requestId.length > MAX_REQUEST_ID_CHARS) {
    throw new Error(`requestId must be 1–${MAX_REQUEST_ID_CHARS} characters to be a ledger key`);
  }
  // eslint-disable-next-line no-control-regex
  const forbidden = /[/\\#?\u0000-\u001f\u007f-\u009f]/.exec(requestId);
  if (forbidden) {
    const code = forbidden[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw new Error(`requestId contains U+${code}, which Azure Table keys do not allow`);
  }
}

/** Cuts a text to `maxChars`, marking the cut, without splitting a surrogate pair. */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let end = maxChars - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Appends an event, keeping the latest MAX_LEDGER_EVENTS, each cut to MAX_EVENT_CHARS. */
export function appendEvent(events: readonly string[], event: string): string[] {
  return [...events, truncateText(event, MAX_EVENT_CHARS)].slice(-MAX_LEDGER_EVENTS);
}

export function toEntity(record: LedgerRecord): LedgerEntity {
  assertValidPartitionKey(record.requestId);
  const entity: LedgerEntity = {
    partitionKey: record.requestId,
    rowKey: LEDGER_ROW_KEY,
    ledgerVersion: LEDGER_ENTITY_VERSION,
    requestHash: record.requestHash,
    state: record.state,
    profileOid: record.profileOid,
    caHost: record.caHost,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
  const optional: ChunkProperties = {};
  if (record.enrollment) {
    optional.enrollmentAttempt = record.enrollment.attempt;
    optional.enrollmentClientTransactionId = record.enrollment.clientTransactionId;
    optional.enrollmentPublicKeySha256 = record.enrollment.publicKeySha256;
    optional.enrollmentStartedAt = record.enrollment.startedAt;
    if (record.enrollment.seatId !== undefined) optional.enrollmentSeatId = record.enrollment.seatId;
    if (record.enrollment.endedAt !== undefined) optional.enrollmentEndedAt = record.enrollment.endedAt;
    if (record.enrollment.nothingIssued !== undefined) {
      optional.enrollmentNothingIssued = record.enrollment.nothingIssued ? 1 : 0;
    }
  }
  if (record.lastError) {
    optional.lastErrorCode = record.lastError.code;
    optional.lastErrorMessage = record.lastError.message;
  }
  if (record.serialNumber !== undefined) optional.serialNumber = record.serialNumber;
  if (record.thumbprint !== undefined) optional.thumbprint = record.thumbprint;
  if (record.errorCode !== undefined) optional.errorCode = record.errorCode;
  if (record.revocation !== undefined) {
    optional.revocationId = record.revocation.revocationId;
    optional.revocationReason = record.revocation.reason;
    optional.revokedAt = record.revocation.revokedAt;
    optional.alreadyRevoked = record.revocation.alreadyRevoked ? 1 : 0;
  }
  Object.assign(entity, optional);
  if (record.resultJson !== undefined) Object.assign(entity, toChunkProperties('result', record.resultJson));
  Object.assign(entity, toChunkProperties('events', JSON.stringify(record.events)));

  const size = estimateEntitySize(entity);
  if (size > TABLE_ENTITY_MAX_BYTES) {
    throw new Error(
      `the ledger record of request ${record.requestId} would be ${size} bytes, above the Table entity ` +
        `limit of ${TABLE_ENTITY_MAX_BYTES} (result: ${record.resultJson?.length ?? 0} characters)`,
    );
  }
  return entity;
}

/** Reads a stored entity back into a record; anything malformed is an error naming the property. */
export function fromEntity(entity: Readonly<Record<string, unknown>>, etag: string): LedgerRecord {
  const requestId = requiredString(entity, 'partitionKey', '(unknown)');
  const field = (name: string): string => requiredString(entity, name, requestId);
  const optionalField = (name: string): string | undefined => optionalString(entity, name, requestId);

  const state = field('state');
  if (!(LEDGER_STATES as readonly string[]).includes(state)) {
    throw malformed(requestId, 'state', `unknown state ${JSON.stringify(state)}`);
  }
  const record: LedgerRecord = {
    requestId,
    requestHash: field('requestHash'),
    state: state as LedgerState,
    profileOid: field('profileOid'),
    caHost: field('caHost'),
    createdAt: field('createdAt'),
    updatedAt: field('updatedAt'),
    events: readEvents(entity, requestId),
    etag,
  };
  const enrollment = readEnrollment(entity, requestId);
  if (enrollment) record.enrollment = enrollment;
  const lastErrorCode = optionalField('lastErrorCode');
  if (lastErrorCode !== undefined) {
    record.lastError = { code: lastErrorCode, message: optionalField('lastErrorMessage') ?? '' };
  }
  const serialNumber = optionalField('serialNumber');
  if (serialNumber !== undefined) record.serialNumber = serialNumber;
  const thumbprint = optionalField('thumbprint');
  if (thumbprint !== undefined) record.thumbprint = thumbprint;
  const errorCode = optionalField('errorCode');
  if (errorCode !== undefined) record.errorCode = errorCode;
  const resultJson = readChunks(entity, 'result', requestId);
  if (resultJson !== undefined) record.resultJson = resultJson;
  const revocationId = optionalField('revocationId');
  if (revocationId !== undefined) {
    record.revocation = {
      revocationId,
      reason: optionalField('revocationReason') ?? 'Unspecified',
      revokedAt: optionalField('revokedAt') ?? '',
      alreadyRevoked: entity.alreadyRevoked === 1,
    };
  }
  return record;
}

function readEnrollment(
  entity: Readonly<Record<string, unknown>>,
  requestId: string,
): EnrollmentAttempt | undefined {
  const attempt = entity.enrollmentAttempt;
  if (attempt === undefined || attempt === null) return undefined;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) {
    throw malformed(requestId, 'enrollmentAttempt', 'not a positive integer');
  }
  const enrollment: EnrollmentAttempt = {
    attempt,
    clientTransactionId: requiredString(entity, 'enrollmentClientTransactionId', requestId),
    publicKeySha256: requiredString(entity, 'enrollmentPublicKeySha256', requestId),
    startedAt: requiredString(entity, 'enrollmentStartedAt', requestId),
  };
  const seatId = optionalString(entity, 'enrollmentSeatId', requestId);
  if (seatId !== undefined) enrollment.seatId = seatId;
  const endedAt = optionalString(entity, 'enrollmentEndedAt', requestId);
  if (endedAt !== undefined) enrollment.endedAt = endedAt;
  const nothingIssued = entity.enrollmentNothingIssued;
  if (nothingIssued === 0 || nothingIssued === 1) enrollment.nothingIssued = nothingIssued === 1;
  return enrollment;
}

function readEvents(entity: Readonly<Record<string, unknown>>, requestId: string): string[] {
  const text = readChunks(entity, 'events', requestId);
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed(requestId, 'events', 'not JSON');
  }
  if (!Array.isArray(parsed) || !parsed.every((event): event is string => typeof event === 'string')) {
    throw malformed(requestId, 'events', 'not an array of strings');
  }
  return parsed;
}

function readChunks(
  entity: Readonly<Record<string, unknown>>,
  name: string,
  requestId: string,
): string | undefined {
  try {
    return fromChunkProperties(entity, name);
  } catch (error) {
    throw malformed(requestId, name, error instanceof Error ? error.message : String(error));
  }
}

function requiredString(entity: Readonly<Record<string, unknown>>, name: string, requestId: string): string {
  const value = entity[name];
  if (typeof value !== 'string') throw malformed(requestId, name, 'missing or not a string');
  return value;
}

function optionalString(
  entity: Readonly<Record<string, unknown>>,
  name: string,
  requestId: string,
): string | undefined {
  const value = entity[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw malformed(requestId, name, 'not a string');
  return value;
}

function malformed(requestId: string, property: string, why: string): Error {
  return new Error(`the ledger record of request ${requestId} is malformed: ${property}: ${why}`);
}

/**
 * Revocation records, in the ledger's table beside the request records: one entity per revocationId, so a
 * repeated or redelivered revocation never reaches the CA twice and always gets the same result back.
 *
 *   received → revoking (serial, CA host: sent, or about to be) → revoked | failed (the result as published)
 *
 *   PartitionKey = revocationId with "/" written "~" (Table keys forbid "/"; the id rule has no "~"),
 *   RowKey = "revocation"; messageHash, state, createdAt, updatedAt, serialNumber, caHost, requestId,
 *   lastErrorCode, lastErrorMessage, resultJson (when set)
 *
 * Stored, like the request records, at the first write (usually `revoking`, just before the CA is asked to
 * revoke); writes are ETag-guarded: a stale writer, or an insert that finds the record stored meanwhile, gets
 * LedgerConflictError.
 */
import type { TableClient } from '@azure/data-tables';
import type { RevocationResult } from '../contract/types';
import type { StorageConnection } from '../storage/connection';
import { createTableClient, type StorageClientOptions } from '../storage/clients';
import { MAX_ERROR_MESSAGE_CHARS, truncateText } from './entity';
import { EnsuredTable, storageErrorOf } from './ensuredTable';
import { DEFAULT_LEDGER_TABLE, ledgerTableName } from './tableLedger';
import { LedgerConflictError, type LedgerError } from './types';

export const REVOCATION_ROW_KEY = 'revocation';

export type RevocationState = 'received' | 'revoking' | 'revoked' | 'failed';
const REVOCATION_STATES: readonly RevocationState[] = ['received', 'revoking', 'revoked', 'failed'];

export interface RevocationTarget {
  /** Upper-case hex without leading zeros. */
  serialNumber: string;
  caHost: string;
  /** The issuance whose certificate it is, when known. */
  requestId?: string;
}

export interface RevocationRecord {
  revocationId: string;
  /** Hex SHA-256 of the message's canonical JSON: a reused revocationId with another body is refused. */
  messageHash: string;
  state: RevocationState;
  createdAt: string;
  updatedAt: string;
  /** Set once the broker has sent (or is about to send) the revocation to the CA. */
  target?: RevocationTarget;
  lastError?: LedgerError;
  /** The result exactly as published, replayed byte for byte on a repeat. */
  resultJson?: string;
  /** The stored version's concurrency token; none while the record is not stored (open()). */
  etag?: string;
}

export interface RevocationLedger {
  /**
   * The stored record (whatever its hash), or a new one in state `received` that is not stored: only a read.
   * Its first write inserts it.
   */
  open(input: { revocationId: string; messageHash: string }): Promise<RevocationRecord>;
  /** → revoking, before updateCertificateStatus is sent. */
  recordRevoking(record: RevocationRecord, target: RevocationTarget): Promise<RevocationRecord>;
  recordTransientFailure(record: RevocationRecord, error: LedgerError): Promise<RevocationRecord>;
  /** → revoked or failed, with the result as it will be published. */
  recordOutcome(record: RevocationRecord, result: RevocationResult, json: string): Promise<RevocationRecord>;
}

/** The Table key of a revocationId. */
export function revocationPartitionKey(revocationId: string): string {
  return revocationId.replace(/\//g, '~');
}

type RevocationEntity = { partitionKey: string; rowKey: string } & Record<string, string>;

function toEntity(record: RevocationRecord): RevocationEntity {
  const entity: RevocationEntity = {
    partitionKey: revocationPartitionKey(record.revocationId),
    rowKey: REVOCATION_ROW_KEY,
    revocationId: record.revocationId,
    messageHash: record.messageHash,
    state: record.state,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
  if (record.target !== undefined) {
    entity.serialNumber = record.target.serialNumber;
    entity.caHost = record.target.caHost;
    if (record.target.requestId !== undefined) entity.requestId = record.target.requestId;
  }
  if (record.lastError !== undefined) {
    entity.lastErrorCode = record.lastError.code;
    entity.lastErrorMessage = record.lastError.message;
  }
  // A revocation result is small: the 4 KB context at most, far below a property's 64 KiB.
  if (record.resultJson !== undefined) entity.resultJson = record.resultJson;
  return entity;
}

function fromEntity(entity: Readonly<Record<string, unknown>>, etag: string): RevocationRecord {
  const text = (name: string): string | undefined => {
    const value = entity[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw malformed(entity, name);
    return value;
  };
  const required = (name: string): string => text(name) ?? malformedThrow(entity, name);
  const state = required('state');
  if (!(REVOCATION_STATES as readonly string[]).includes(state)) throw malformed(entity, 'state');
  const record: RevocationRecord = {
    revocationId: required('revocationId'),
    messageHash: required('messageHash'),
    state: state as RevocationState,
    createdAt: required('createdAt'),
    updatedAt: required('updatedAt'),
    etag,
  };
  const serialNumber = text('serialNumber');
  const caHost = text('caHost');
  if (serialNumber !== undefined && caHost !== undefined) {
    const requestId = text('requestId');
    record.target = { serialNumber, caHost, ...(requestId === undefined ? {} : { requestId }) };
  }
  const lastErrorCode = text('lastErrorCode');
  if (lastErrorCode !== undefined) {
    record.lastError = { code: lastErrorCode, message: text('lastErrorMessage') ?? '' };
  }
  const resultJson = text('resultJson');
  if (resultJson !== undefined) record.resultJson = resultJson;
  return record;
}

function malformed(entity: Readonly<Record<string, unknown>>, property: string): Error {
  return new Error(
    `the ledger record of revocation ${String(entity.partitionKey)} is malformed: ${property} is missing or not a string`,
  );
}

function malformedThrow(entity: Readonly<Record<string, unknown>>, property: string): never {
  throw malformed(entity, property);
}

export class TableRevocationLedger implements RevocationLedger {
  private readonly table: EnsuredTable;
  private readonly now: () => Date;

  constructor(
    private readonly client: TableClient,
    options: { now?: () => Date } = {},
  ) {
    this.table = new EnsuredTable(client);
    this.now = options.now ?? (() => new Date());
  }

  async open(input: { revocationId: string; messageHash: string }): Promise<RevocationRecord> {
    const key = revocationPartitionKey(input.revocationId);
    try {
      const entity = await this.table.run(() => this.client.getEntity(key, REVOCATION_ROW_KEY));
      return fromEntity(entity, entity.etag);
    } catch (error) {
      if (storageErrorOf(error).statusCode !== 404) throw error;
    }
    const timestamp = this.now().toISOString();
    return {
      revocationId: input.revocationId,
      messageHash: input.messageHash,
      state: 'received',
      createdAt: timestamp,
      updatedAt: timestamp,
    };
  }

  recordRevoking(record: RevocationRecord, target: RevocationTarget): Promise<RevocationRecord> {
    assertOpen(record, 'recordRevoking');
    return this.replace(record, { state: 'revoking', target: { ...target } });
  }

  recordTransientFailure(record: RevocationRecord, error: LedgerError): Promise<RevocationRecord> {
    return this.replace(record, {
      lastError: { code: error.code, message: truncateText(error.message, MAX_ERROR_MESSAGE_CHARS) },
    });
  }

  recordOutcome(record: RevocationRecord, result: RevocationResult, json: string): Promise<RevocationRecord> {
    assertOpen(record, 'recordOutcome');
    return this.replace(record, { state: result.status, resultJson: json });
  }

  private async replace(
    record: RevocationRecord,
    changes: Partial<Omit<RevocationRecord, 'revocationId' | 'etag' | 'createdAt'>>,
  ): Promise<RevocationRecord> {
    const next: RevocationRecord = { ...record, ...changes, updatedAt: this.now().toISOString() };
    const { etag } = record;
    try {
      const response = await this.table.run(() =>
        etag === undefined
          ? this.client.createEntity(toEntity(next))
          : this.client.updateEntity(toEntity(next), 'Replace', { etag }),
      );
      return { ...next, etag: response.etag ?? '' };
    } catch (error) {
      // 409: another delivery stored the record since this one found it missing.
      if (storageErrorOf(error).statusCode === (etag === undefined ? 409 : 412))
        throw new LedgerConflictError(record.revocationId);
      throw error;
    }
  }
}

function assertOpen(record: RevocationRecord, operation: string): void {
  if (record.state === 'revoked' || record.state === 'failed') {
    throw new Error(
      `the ledger record of revocation ${record.revocationId} is ${record.state}: ${operation} is not allowed after an outcome`,
    );
  }
}

/** Revocation records in the ledger table of the given storage (the one createRequestLedger uses). */
export function createRevocationLedger(
  storage: string | StorageConnection,
  tableName: string = DEFAULT_LEDGER_TABLE,
  options: { now?: () => Date } & StorageClientOptions = {},
): TableRevocationLedger {
  const connection: StorageConnection =
    typeof storage === 'string' ? { kind: 'connectionString', connectionString: storage } : storage;
  return new TableRevocationLedger(
    createTableClient(connection, ledgerTableName(tableName), options),
    options,
  );
}

/**
 * The request ledger on Azure Table storage (Azurite locally). One entity per requestId; the first write is an
 * insert that fails on an existing entity (so two invocations can never both "create"), every later write a
 * Replace conditioned on the ETag that was read (so a stale writer fails instead of overwriting). open() only
 * reads: the pipeline's first write (usually the enrollment) is the insert.
 *
 * The adapter is thin on purpose: storage errors other than the ones it interprets (409 on insert, 412 on
 * update, a missing table) are thrown as they come; the pipeline decides what is transient. The SDK's own
 * retry policy (exponential, on 5xx and network errors) still applies underneath.
 */
import type { TableClient } from '@azure/data-tables';
import type { PkcsResult } from '../contract/types';
import type { StorageConnection } from '../storage/connection';
import { createTableClient, isLocalEmulatorEndpoint, type StorageClientOptions } from '../storage/clients';
import {
  LEDGER_ROW_KEY,
  MAX_ERROR_MESSAGE_CHARS,
  appendEvent,
  assertValidPartitionKey,
  fromEntity,
  toEntity,
  truncateText,
} from './entity';
import { EnsuredTable, storageErrorOf } from './ensuredTable';
import { TableSeatUsage } from './seatUsage';
import {
  LedgerConflictError,
  LedgerStateError,
  type BeginOutcome,
  type CertificateRevocationNote,
  type EnrollmentAttempt,
  type LedgerError,
  type LedgerRecord,
  type RequestIdentity,
  type RequestLedger,
} from './types';

export { EnsuredTable, storageErrorOf };

export const DEFAULT_LEDGER_TABLE = 'pkcsrequests';

/** Table names: 3–63 letters and digits, starting with a letter. */
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

export interface TableRequestLedgerOptions {
  /** The clock for createdAt/updatedAt (tests pin it). */
  now?: () => Date;
}

export class TableRequestLedger implements RequestLedger {
  private readonly table: EnsuredTable;
  private readonly now: () => Date;
  /** The seats' reservations, in the same table (seatUsage.ts). */
  readonly seats: TableSeatUsage;

  constructor(
    private readonly client: TableClient,
    options: TableRequestLedgerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.table = new EnsuredTable(client);
    this.seats = new TableSeatUsage(client, this.table);
  }

  async begin(input: RequestIdentity): Promise<BeginOutcome> {
    const fresh = this.fresh(input, this.now());
    const entity = toEntity(fresh);
    try {
      const response = await this.withTable(() => this.client.createEntity(entity));
      return { record: { ...fresh, etag: requireEtag(response.etag, input.requestId) }, created: true };
    } catch (error) {
      if (storageErrorOf(error).statusCode !== 409) throw error;
    }
    // Another invocation created it first (or this is a repeat): theirs stands, whatever its body hash.
    const existing = await this.get(input.requestId);
    if (!existing) {
      throw new Error(`the ledger record of request ${input.requestId} exists (409) but could not be read`);
    }
    return { record: existing, created: false };
  }

  async open(input: RequestIdentity & { seenSince?: Date }): Promise<LedgerRecord> {
    const stored = await this.get(input.requestId);
    if (stored) return stored;
    const now = this.now();
    const seen = input.seenSince !== undefined && input.seenSince < now ? input.seenSince : now;
    return this.fresh(input, seen);
  }

  /** A record in state `received`, first seen at `seen`, not stored yet. */
  private fresh(input: RequestIdentity, seen: Date): LedgerRecord {
    return {
      requestId: input.requestId,
      requestHash: input.requestHash,
      state: 'received',
      profileOid: input.profileOid,
      caHost: input.caHost,
      createdAt: seen.toISOString(),
      updatedAt: seen.toISOString(),
      events: [],
    };
  }

  async get(requestId: string): Promise<LedgerRecord | undefined> {
    assertValidPartitionKey(requestId);
    try {
      const entity = await this.withTable(() => this.client.getEntity(requestId, LEDGER_ROW_KEY));
      return fromEntity(entity, entity.etag);
    } catch (error) {
      if (storageErrorOf(error).statusCode === 404) return undefined;
      throw error;
    }
  }

  async recordEnrollment(record: LedgerRecord, attempt: EnrollmentAttempt): Promise<LedgerRecord> {
    assertNoOutcome(record, 'recordEnrollment');
    return this.replace(record, { state: 'enrolling', enrollment: { ...attempt } });
  }

  async recordTransientFailure(record: LedgerRecord, error: LedgerError): Promise<LedgerRecord> {
    return this.replace(record, {
      lastError: { code: error.code, message: truncateText(error.message, MAX_ERROR_MESSAGE_CHARS) },
    });
  }

  async recordAttemptEnded(
    record: LedgerRecord,
    outcome: { nothingIssued: boolean; error: LedgerError },
  ): Promise<LedgerRecord> {
    assertNoOutcome(record, 'recordAttemptEnded');
    if (record.enrollment === undefined) {
      throw new Error(`request ${record.requestId} has no enrollment attempt to end`);
    }
    return this.replace(record, {
      state: outcome.nothingIssued ? 'received' : 'enrolling',
      enrollment: {
        ...record.enrollment,
        endedAt: this.now().toISOString(),
        nothingIssued: outcome.nothingIssued,
      },
      lastError: {
        code: outcome.error.code,
        message: truncateText(outcome.error.message, MAX_ERROR_MESSAGE_CHARS),
      },
    });
  }

  async recordEvent(record: LedgerRecord, event: string): Promise<LedgerRecord> {
    return this.replace(record, { events: appendEvent(record.events, event) });
  }

  async recordRevocation(record: LedgerRecord, note: CertificateRevocationNote): Promise<LedgerRecord> {
    return this.replace(record, {
      revocation: { ...note },
      events: appendEvent(
        record.events,
        note.alreadyRevoked
          ? `certificate ${record.serialNumber ?? '?'} found revoked already by revocation ${note.revocationId} at ${note.revokedAt}`
          : `certificate ${record.serialNumber ?? '?'} revoked (${note.reason}) by revocation ${note.revocationId} at ${note.revokedAt}`,
      ),
    });
  }

  async recordOutcome(record: LedgerRecord, result: PkcsResult, resultJson: string): Promise<LedgerRecord> {
    assertNoOutcome(record, 'recordOutcome');
    if (result.requestId !== record.requestId) {
      throw new Error(
        `a result for request ${result.requestId} cannot be recorded on request ${record.requestId}`,
      );
    }
    if (result.status === 'issued') {
      return this.replace(record, {
        state: 'issued',
        serialNumber: result.certificate.serialNumber,
        thumbprint: result.certificate.thumbprint,
        resultJson,
      });
    }
    return this.replace(record, { state: 'failed', errorCode: result.error.code, resultJson });
  }

  /**
   * Writes `record` with `changes` over it: inserts a record that is not stored yet, else replaces the stored
   * version if it is still the one `record` was read as.
   */
  private async replace(
    record: LedgerRecord,
    changes: Partial<Omit<LedgerRecord, 'requestId' | 'etag' | 'createdAt'>>,
  ): Promise<LedgerRecord> {
    const next: LedgerRecord = { ...record, ...changes, updatedAt: this.now().toISOString() };
    const entity = toEntity(next);
    const { etag } = record;
    try {
      const response = await this.withTable(() =>
        etag === undefined
          ? this.client.createEntity(entity)
          : this.client.updateEntity(entity, 'Replace', { etag }),
      );
      return { ...next, etag: requireEtag(response.etag, record.requestId) };
    } catch (error) {
      const { statusCode } = storageErrorOf(error);
      // 409: another delivery stored the record since this one found it missing.
      if (statusCode === (etag === undefined ? 409 : 412)) throw new LedgerConflictError(record.requestId);
      if (statusCode === 404) {
        throw new Error(
          `the ledger record of request ${record.requestId} no longer exists; it cannot be updated`,
        );
      }
      throw error;
    }
  }

  private withTable<T>(operation: () => Promise<T>): Promise<T> {
    return this.table.run(operation);
  }
}

/**
 * The ledger in the table `tableName` of the storage account in `connectionString`. Plain http is allowed only
 * for an emulator on this machine (Azurite); a real account must use https.
 */
/**
 * The ledger in the table `tableName` of the given storage: a connection string (Azurite locally, a key) or an
 * identity-based connection (the Function App's managed identity; shared keys off).
 */
export function createRequestLedger(
  storage: string | StorageConnection,
  tableName: string = DEFAULT_LEDGER_TABLE,
  options: TableRequestLedgerOptions & StorageClientOptions = {},
): TableRequestLedger {
  const connection: StorageConnection =
    typeof storage === 'string' ? { kind: 'connectionString', connectionString: storage } : storage;
  return new TableRequestLedger(createTableClient(connection, ledgerTableName(tableName), options), options);
}

/** The table name, checked: 3–63 letters and digits, starting with a letter. */
export function ledgerTableName(tableName: string): string {
  if (!TABLE_NAME.test(tableName)) {
    throw new Error(
      `ledger table name "${tableName}" must be 3–63 letters and digits, starting with a letter`,
    );
  }
  return tableName;
}

export { isLocalEmulatorEndpoint };

function assertNoOutcome(record: LedgerRecord, operation: string): void {
  if (record.state === 'issued' || record.state === 'failed') {
    throw new LedgerStateError(record.requestId, record.state, operation);
  }
}

function requireEtag(etag: string | undefined, requestId: string): string {
  if (!etag)
    throw new Error(`the Table service returned no ETag for the ledger record of request ${requestId}`);
  return etag;
}

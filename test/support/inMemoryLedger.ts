/**
 * The ledgers in memory, for unit tests: the Table ledgers themselves (TableRequestLedger,
 * TableRevocationLedger) over a table held in a Map. So the semantics are the Table ledger's by construction — insert-or-409 on begin, Replace
 * conditioned on the ETag read (a stale writer gets LedgerConflictError), no write after an outcome, the
 * entity layout, truncation and event limits — and only the storage service is stood in for.
 */
import type { TableClient } from '@azure/data-tables';
import { TableRequestLedger } from '../../shared/ledger/tableLedger';
import { LEDGER_ROW_KEY } from '../../shared/ledger/entity';
import { TableRevocationLedger } from '../../shared/ledger/revocationLedger';
import type { LedgerRecord } from '../../shared/ledger/types';

type Entity = { partitionKey: string; rowKey: string } & Record<string, unknown>;

/** An error shaped like the SDK's RestError, as storageErrorOf reads it. */
function storageError(statusCode: number, errorCode: string): Error {
  return Object.assign(new Error(`${statusCode} ${errorCode}`), { statusCode, details: { errorCode } });
}

/** The few TableClient operations the ledgers use, with the service's answers, over a Map. */
export class InMemoryTable {
  private readonly rows = new Map<string, { entity: Entity; etag: string }>();
  private version = 0;
  private readonly beforeWrites: { rowKey: string; action: () => Promise<void> | void }[] = [];
  /** Every write that reached the table, in order: `create <key>`, `update <key>` or `delete <key>`. */
  readonly writes: string[] = [];

  readonly client = {
    createTable: async (): Promise<void> => undefined,
    createEntity: async (entity: Entity): Promise<{ etag: string }> => {
      await this.runBeforeWrite(entity.rowKey);
      const key = keyOf(entity.partitionKey, entity.rowKey);
      if (this.rows.has(key)) throw storageError(409, 'EntityAlreadyExists');
      this.writes.push(`create ${key}`);
      return { etag: this.store(key, entity) };
    },
    getEntity: async (partitionKey: string, rowKey: string): Promise<Entity & { etag: string }> => {
      const row = this.rows.get(keyOf(partitionKey, rowKey));
      if (row === undefined) throw storageError(404, 'ResourceNotFound');
      return { ...structuredClone(row.entity), etag: row.etag };
    },
    updateEntity: async (
      entity: Entity,
      mode: 'Replace',
      options: { etag: string },
    ): Promise<{ etag: string }> => {
      if (mode !== 'Replace') throw new Error(`InMemoryTable: update mode ${String(mode)} is not supported`);
      await this.runBeforeWrite(entity.rowKey);
      const key = keyOf(entity.partitionKey, entity.rowKey);
      const row = this.rows.get(key);
      if (row === undefined) throw storageError(404, 'ResourceNotFound');
      if (row.etag !== options.etag) throw storageError(412, 'UpdateConditionNotSatisfied');
      this.writes.push(`update ${key}`);
      return { etag: this.store(key, entity) };
    },
    deleteEntity: async (partitionKey: string, rowKey: string): Promise<void> => {
      const key = keyOf(partitionKey, rowKey);
      if (!this.rows.delete(key)) throw storageError(404, 'ResourceNotFound');
      this.writes.push(`delete ${key}`);
    },
    /** Only the one query the ledgers send: the entities of one partition (`PartitionKey eq '…'`). */
    listEntities: (options: { queryOptions: { filter: string } }): AsyncIterable<Entity> => {
      const match = /^PartitionKey eq '((?:[^']|'')*)'$/.exec(options.queryOptions.filter);
      if (match === null) throw new Error(`InMemoryTable: unsupported filter ${options.queryOptions.filter}`);
      const partitionKey = match[1]!.replace(/''/g, "'");
      const found = [...this.rows.values()]
        .filter((row) => row.entity.partitionKey === partitionKey)
        .map((row) => ({ ...structuredClone(row.entity), etag: row.etag }));
      return (async function* () {
        yield* found;
      })();
    },
  };

  /** Every stored entity's `PartitionKey/RowKey`. */
  keys(): string[] {
    return [...this.rows.keys()];
  }

  /** The entities stored in one partition. */
  partition(partitionKey: string): Entity[] {
    return [...this.rows.values()]
      .filter((row) => row.entity.partitionKey === partitionKey)
      .map((row) => structuredClone(row.entity));
  }

  /**
   * Runs `action` just before the next insert or update of an entity with this RowKey (`request`, `revocation`)
   * reaches the table: what another delivery does meanwhile.
   */
  beforeNextWrite(rowKey: string, action: () => Promise<void> | void): void {
    this.beforeWrites.push({ rowKey, action });
  }

  private async runBeforeWrite(rowKey: string): Promise<void> {
    const index = this.beforeWrites.findIndex((hook) => hook.rowKey === rowKey);
    if (index < 0) return;
    const [hook] = this.beforeWrites.splice(index, 1);
    await hook!.action();
  }

  /** Gives a stored entity a new ETag, as any write by another invocation would. */
  touch(partitionKey: string, rowKey: string): void {
    const key = keyOf(partitionKey, rowKey);
    const row = this.rows.get(key);
    if (row === undefined) throw new Error(`InMemoryTable: no entity ${key} to touch`);
    this.store(key, row.entity);
  }

  private store(key: string, entity: Entity): string {
    this.version += 1;
    const etag = `W/"${this.version}"`;
    this.rows.set(key, { entity: structuredClone(entity), etag });
    return etag;
  }
}

function keyOf(partitionKey: string, rowKey: string): string {
  return `${partitionKey}/${rowKey}`;
}

/** The request ledger of the Table service, in memory. `storage` lets a test interleave another delivery. */
export class InMemoryRequestLedger extends TableRequestLedger {
  constructor(
    readonly storage: InMemoryTable = new InMemoryTable(),
    options: { now?: () => Date } = {},
  ) {
    super(tableClientOf(storage), options);
  }

  /** The stored record of `requestId`, failing the test when there is none. */
  async record(requestId: string): Promise<LedgerRecord> {
    const record = await this.get(requestId);
    if (record === undefined) throw new Error(`no ledger record for request ${requestId}`);
    return record;
  }

  /** Another invocation wrote the record of `requestId` (its ETag changes, nothing else). */
  touch(requestId: string): void {
    this.storage.touch(requestId, LEDGER_ROW_KEY);
  }
}

/** The revocation ledger of the Table service, in memory: in `storage` beside the request records, as deployed. */
export function inMemoryRevocationLedger(
  storage: InMemoryTable,
  options: { now?: () => Date } = {},
): TableRevocationLedger {
  return new TableRevocationLedger(tableClientOf(storage), options);
}

function tableClientOf(storage: InMemoryTable): TableClient {
  // Only the operations InMemoryTable has are ever called on the client (tableLedger.ts, revocationLedger.ts).
  return storage.client as unknown as TableClient;
}

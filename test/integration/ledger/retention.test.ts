/**
 * LEDGER_RETENTION_DAYS against Azurite: entities last written before the cut-off go, newer ones stay, and
 * one written again between the listing and its deletion stays too.
 */
import { createTableClient } from '../../../shared/storage/clients';
import type { TableClient } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import { purgeLedger, retentionCutoff } from '../../../shared/ledger/retention';

let azurite: RunningAzurite;
let tableCounter = 0;

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.stop();
});

async function newTable(): Promise<TableClient> {
  tableCounter += 1;
  const table = createTableClient(
    { kind: 'connectionString', connectionString: azurite.connectionString },
    `retention${tableCounter}`,
  );
  await table.createTable();
  return table;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function keys(table: TableClient): Promise<string[]> {
  const found: string[] = [];
  for await (const entity of table.listEntities()) found.push(`${entity.partitionKey}/${entity.rowKey}`);
  return found.sort();
}

describe('purgeLedger', () => {
  it('deletes what was last written before the cut-off, of every kind, and keeps the rest', async () => {
    const table = await newTable();
    await table.createEntity({ partitionKey: 'old-request', rowKey: 'request', state: 'issued' });
    await table.createEntity({ partitionKey: 'revocation|old', rowKey: 'revocation', state: 'revoked' });
    await table.createEntity({ partitionKey: 'old-rewritten', rowKey: 'request', state: 'enrolling' });
    await pause(50);
    const cutoff = new Date();
    await pause(50);
    await table.createEntity({ partitionKey: 'new-request', rowKey: 'request', state: 'received' });
    // Written again after the cut-off: its last write counts, not its creation.
    await table.updateEntity({ partitionKey: 'old-rewritten', rowKey: 'request', state: 'issued' }, 'Merge');

    expect(await purgeLedger(table, cutoff)).toEqual({ deleted: 2, kept: 0 });
    expect(await keys(table)).toEqual(['new-request/request', 'old-rewritten/request']);
    expect(await purgeLedger(table, cutoff)).toEqual({ deleted: 0, kept: 0 });
  });

  it('keeps an entity written again between the listing and its deletion', async () => {
    const table = await newTable();
    await table.createEntity({ partitionKey: 'busy', rowKey: 'request', state: 'enrolling' });
    await table.createEntity({ partitionKey: 'idle', rowKey: 'request', state: 'issued' });
    await pause(50);
    const cutoff = new Date();
    // Another delivery writes `busy` just before the purge reaches it (the delete carries the listed ETag).
    const racing = new Proxy(table, {
      get(target, property, receiver) {
        if (property !== 'deleteEntity') return Reflect.get(target, property, receiver);
        return async (...args: Parameters<TableClient['deleteEntity']>) => {
          if (args[0] === 'busy') {
            await target.updateEntity({ partitionKey: 'busy', rowKey: 'request', state: 'issued' }, 'Merge');
          }
          return target.deleteEntity(...args);
        };
      },
    });
    expect(await purgeLedger(racing, cutoff)).toEqual({ deleted: 1, kept: 1 });
    expect(await keys(table)).toEqual(['busy/request']);
  });

  it('finds nothing to purge in a table that does not exist yet', async () => {
    const missing = createTableClient(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      'retentionmissing',
    );
    expect(await purgeLedger(missing, new Date())).toEqual({ deleted: 0, kept: 0 });
  });
});

describe('retentionCutoff', () => {
  it('is the given number of days before now', () => {
    expect(retentionCutoff(new Date('2026-12-05T00:00:00Z'), 90).toISOString()).toBe(
      '2026-09-06T00:00:00.000Z',
    );
  });
});

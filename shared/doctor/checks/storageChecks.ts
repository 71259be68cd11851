/**
 * The storage the broker works in: the request, result and poison queues (there, or created now, and
 * reachable) and the request ledger's table. The connector had neither, so no row of the seed's table
 * matches these failures; the remedy says what to change.
 */
import { odata, TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { createRequestLedger, isLocalEmulatorEndpoint, storageErrorOf } from '../../ledger/tableLedger';
import { errorText } from '../outcomes';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types';
import { describeStorage, SETTINGS_CHECK_ID } from './settingsCheck';

export const QUEUES_CHECK_ID = 'queues';
export const LEDGER_CHECK_ID = 'ledger';

function storageOf(context: DoctorContext): string {
  const connection = context.settings?.storageConnection;
  if (connection === undefined) throw new Error('AzureWebJobsStorage is not set');
  return connection;
}

async function checkQueues(context: DoctorContext): Promise<CheckOutcome> {
  const settings = context.settings!;
  const connection = storageOf(context);
  const names = [settings.requestQueue, settings.resultQueue, `${settings.requestQueue}-poison`];
  const service = QueueServiceClient.fromConnectionString(connection, { retryOptions: { maxTries: 2 } });
  const notes: string[] = [];
  const created: string[] = [];
  const counts: { [name: string]: number | null } = {};
  for (const name of names) {
    const queue = service.getQueueClient(name);
    try {
      try {
        const properties = await queue.getProperties();
        counts[name] = properties.approximateMessagesCount ?? null;
        notes.push(`${name}: exists, ${properties.approximateMessagesCount ?? '?'} message(s) waiting`);
      } catch (error) {
        if (storageErrorOf(error).statusCode !== 404) throw error;
        await queue.createIfNotExists();
        created.push(name);
        counts[name] = 0;
        notes.push(`${name}: did not exist, created now`);
      }
    } catch (error) {
      return {
        status: 'fail',
        detail: `queue "${name}" in ${describeStorage(connection)} cannot be used: ${errorText(error)}`,
        notes,
        remedy:
          'Check AzureWebJobsStorage (the storage account of the queues) and that the Function App may use its queues (role "Storage Queue Data Contributor" for its managed identity, or a valid key); the queue names must be 3-63 lower-case letters, digits and dashes. Locally, start Azurite (npm start does).',
      };
    }
  }
  return {
    status: 'pass',
    detail: `${names.join(', ')} reachable in ${describeStorage(connection)}${created.length > 0 ? ` (created: ${created.join(', ')})` : ''}`,
    notes,
    data: { queues: counts, created },
  };
}

async function checkLedger(context: DoctorContext): Promise<CheckOutcome> {
  const settings = context.settings!;
  const connection = storageOf(context);
  const table = settings.ledgerTable;
  const remedy =
    'Check AzureWebJobsStorage and that the Function App may use its tables (role "Storage Table Data Contributor" for its managed identity, or a valid key); LEDGER_TABLE must be 3-63 letters and digits, starting with a letter.';
  let client: TableClient;
  try {
    // Validates the table name exactly as the broker's ledger does.
    createRequestLedger(connection, table);
    const parsed = TableClient.fromConnectionString(connection, table);
    client = TableClient.fromConnectionString(connection, table, {
      allowInsecureConnection: isLocalEmulatorEndpoint(parsed.url),
      retryOptions: { maxRetries: 1 },
    });
  } catch (error) {
    return {
      status: 'fail',
      detail: `the ledger table "${table}" cannot be used: ${errorText(error)}`,
      remedy,
    };
  }
  let created = false;
  const probe = () =>
    client
      .listEntities({ queryOptions: { filter: odata`PartitionKey eq ${'doctor-probe'}` } })
      .byPage({ maxPageSize: 1 })
      .next();
  try {
    try {
      await probe();
    } catch (error) {
      const { statusCode, errorCode } = storageErrorOf(error);
      if (statusCode !== 404 && errorCode !== 'TableNotFound') throw error;
      // The broker creates it on first use too; creating it now proves the permission.
      await client.createTable();
      created = true;
      await probe();
    }
  } catch (error) {
    return {
      status: 'fail',
      detail: `the ledger table "${table}" in ${describeStorage(connection)} cannot be used: ${errorText(error)}`,
      remedy,
    };
  }
  return {
    status: 'pass',
    detail: `table "${table}" ${created ? 'did not exist, created now, and is' : 'exists and is'} readable in ${describeStorage(connection)}`,
    data: { table, created },
  };
}

export const queuesCheck: DoctorCheck = {
  id: QUEUES_CHECK_ID,
  title: 'Queues',
  needs: [SETTINGS_CHECK_ID],
  run: checkQueues,
};

export const ledgerCheck: DoctorCheck = {
  id: LEDGER_CHECK_ID,
  title: 'Ledger table',
  needs: [SETTINGS_CHECK_ID],
  run: checkLedger,
};

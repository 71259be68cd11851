/**
 * The storage the broker works in: the request, result and poison queues (there, or created now, and
 * reachable) and the request ledger's table. The connector had neither, so no row of the seed's table
 * matches these failures; the remedy says what to change.
 */
import { odata, type TableClient } from '@azure/data-tables';
import { createRequestLedger, storageErrorOf } from '../../ledger/tableLedger';
import {
  createQueueServiceClient,
  createTableClient,
  type StorageClientOptions,
} from '../../storage/clients';
import { describeStorageConnection, type StorageConnection } from '../../storage/connection';
import { errorText } from '../outcomes';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types';
import { SETTINGS_CHECK_ID } from './settingsCheck';

export const QUEUES_CHECK_ID = 'queues';
export const LEDGER_CHECK_ID = 'ledger';

function clientOptions(context: DoctorContext): StorageClientOptions {
  const { storageCredential, trustedCaPemForTests } = context.options;
  return {
    maxRetries: 1,
    ...(storageCredential === undefined ? {} : { credential: storageCredential }),
    ...(trustedCaPemForTests === undefined ? {} : { trustedCaPemForTests }),
  };
}

function storageOf(context: DoctorContext): StorageConnection {
  const connection = context.settings?.storage;
  if (connection === undefined) throw new Error('AzureWebJobsStorage is not set');
  return connection;
}

type StorageService = 'queues' | 'tables';

const DATA_ROLE: Record<StorageService, string> = {
  queues: 'Storage Queue Data Contributor',
  tables: 'Storage Table Data Contributor',
};

/**
 * What to do about a storage failure, told by its kind: no token (identity), no role (403), nothing listening,
 * or a bad key. The remedy names the role the identity needs on the storage account.
 */
export function storageRemedy(
  connection: StorageConnection,
  service: StorageService,
  error: unknown,
): string {
  const role = DATA_ROLE[service];
  const { statusCode, errorCode } = storageErrorOf(error);
  const name = typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : '';
  if (connection.kind === 'identity') {
    if (name === 'CredentialUnavailableError' || name === 'AuthenticationError') {
      return connection.managedIdentityOnly
        ? "No token from the managed identity. In Azure, turn on the Function App's identity (system-assigned, or the user-assigned one named by AzureWebJobsStorage__clientId). On your own machine, leave AzureWebJobsStorage__credential unset so your az login is used."
        : "No token for storage: in Azure, turn on the Function App's managed identity; on your own machine, sign in with `az login` (DefaultAzureCredential uses it).";
    }
    if (statusCode === 403) {
      return `The identity has a token but no right to the ${service} (${errorCode ?? '403'}): assign it the role "${role}" on the storage account (az role assignment create --role "${role}" --assignee <principal> --scope <storage account id>); new assignments take up to 10 minutes to apply.`;
    }
    if (statusCode === 401) {
      return `Storage refused the token (${errorCode ?? '401'}): the token must be for https://storage.azure.com and from the storage account's tenant; check the account in AzureWebJobsStorage__accountName / __queueServiceUri / __tableServiceUri.`;
    }
  } else if (statusCode === 403) {
    return `Storage refused the connection string's key (${errorCode ?? '403'}): copy the current key or connection string again, or switch to identity-based access (AzureWebJobsStorage__accountName) with the role "${role}" when shared keys are off.`;
  }
  return service === 'queues'
    ? `Check AzureWebJobsStorage (the storage account of the queues: a connection string, or AzureWebJobsStorage__accountName) and that the Function App may use its queues (role "${role}" for its managed identity, or a valid key); the queue names must be 3-63 lower-case letters, digits and dashes. Locally, start Azurite (npm start does).`
    : `Check AzureWebJobsStorage (a connection string, or AzureWebJobsStorage__accountName) and that the Function App may use its tables (role "${role}" for its managed identity, or a valid key); LEDGER_TABLE must be 3-63 letters and digits, starting with a letter.`;
}

async function checkQueues(context: DoctorContext): Promise<CheckOutcome> {
  const settings = context.settings!;
  const connection = storageOf(context);
  const names = [
    settings.requestQueue,
    settings.resultQueue,
    `${settings.requestQueue}-poison`,
    settings.revokeQueue,
    settings.revokeResultQueue,
    `${settings.revokeQueue}-poison`,
  ];
  const service = createQueueServiceClient(connection, clientOptions(context));
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
        detail: `queue "${name}" in ${describeStorageConnection(connection)} cannot be used: ${errorText(error)}`,
        notes,
        remedy: storageRemedy(connection, 'queues', error),
      };
    }
  }
  return {
    status: 'pass',
    detail: `${names.join(', ')} reachable in ${describeStorageConnection(connection)}${created.length > 0 ? ` (created: ${created.join(', ')})` : ''}`,
    notes,
    data: { queues: counts, created },
  };
}

async function checkLedger(context: DoctorContext): Promise<CheckOutcome> {
  const settings = context.settings!;
  const connection = storageOf(context);
  const table = settings.ledgerTable;
  let client: TableClient;
  try {
    // Validates the table name exactly as the broker's ledger does.
    createRequestLedger(connection, table);
    client = createTableClient(connection, table, clientOptions(context));
  } catch (error) {
    return {
      status: 'fail',
      detail: `the ledger table "${table}" cannot be used: ${errorText(error)}`,
      remedy: storageRemedy(connection, 'tables', error),
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
      detail: `the ledger table "${table}" in ${describeStorageConnection(connection)} cannot be used: ${errorText(error)}`,
      remedy: storageRemedy(connection, 'tables', error),
    };
  }
  return {
    status: 'pass',
    detail: `table "${table}" ${created ? 'did not exist, created now, and is' : 'exists and is'} readable in ${describeStorageConnection(connection)}`,
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

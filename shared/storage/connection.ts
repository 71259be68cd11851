/**
 * Where the queues and the request ledger live, read the way the Functions host reads the "AzureWebJobsStorage"
 * connection: a connection string in `AzureWebJobsStorage`, or an identity-based connection in
 * `AzureWebJobsStorage__*` (accountName, or queueServiceUri + tableServiceUri; credential, clientId). The
 * broker's own clients (ledger, doctor, submit) must accept what the host accepts: a Function App whose
 * storage has shared keys off has no connection string to give them.
 */
import { SettingsError } from '../config/settingsError';

export const STORAGE_CONNECTION = 'AzureWebJobsStorage';

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | {
      kind: 'identity';
      queueServiceUrl: string;
      tableServiceUrl: string;
      /** `__credential: managedidentity` → only the managed identity; unset → DefaultAzureCredential. */
      managedIdentityOnly: boolean;
      /** A user-assigned identity's client id (`__clientId`); unset → the system-assigned one. */
      clientId?: string;
    };

type Env = Record<string, string | undefined>;

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

/** The setting names are case-insensitive in Azure (environment variables on Windows); accept any case. */
function lookup(env: Env, name: string): { name: string; value: string } | undefined {
  const exact = value(env, name);
  if (exact !== undefined) return { name, value: exact };
  const wanted = name.toLowerCase();
  for (const key of Object.keys(env)) {
    if (key.toLowerCase() === wanted) {
      const found = value(env, key);
      if (found !== undefined) return { name: key, value: found };
    }
  }
  return undefined;
}

function serviceUrl(setting: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Only what comes before a query is repeated: the query may be a SAS token, which is a secret.
    throw new SettingsError(
      setting,
      `"${raw.split(/[?#]/)[0]}" is not a URL (e.g. https://<account>.queue.core.windows.net)`,
    );
  }
  // Storage refuses bearer tokens over plain HTTP, and so does the SDK before sending one.
  if (url.protocol !== 'https:') {
    throw new SettingsError(
      setting,
      `"${raw}" must be an https URL: identity-based access sends a bearer token, which storage accepts over HTTPS only`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    // The query is not repeated: it may be a SAS token, which is a secret.
    throw new SettingsError(
      setting,
      `${url.origin}${url.pathname} must be given without a query (no SAS token) or fragment: identity-based access needs none`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Reads the storage connection from the environment; undefined when neither form is set. A connection string
 * wins over `__` settings, as in the Functions host ("an exact match is used").
 */
export function readStorageConnection(
  env: Env,
  name: string = STORAGE_CONNECTION,
): StorageConnection | undefined {
  const connectionString = value(env, name);
  if (connectionString !== undefined) return { kind: 'connectionString', connectionString };

  const setting = (suffix: string) => lookup(env, `${name}__${suffix}`);
  const accountName = setting('accountName');
  const queueUri = setting('queueServiceUri');
  const tableUri = setting('tableServiceUri');
  const credential = setting('credential');
  const clientId = setting('clientId');
  if (accountName === undefined && queueUri === undefined && tableUri === undefined) {
    const stray = [credential, clientId, setting('blobServiceUri')].find((found) => found !== undefined);
    if (stray !== undefined) {
      throw new SettingsError(
        `${name}__accountName`,
        `is not set, but ${stray.name} is: set ${name}__accountName to the storage account's name (or ${name}__queueServiceUri and ${name}__tableServiceUri)`,
      );
    }
    return undefined;
  }
  if (accountName !== undefined && !ACCOUNT_NAME.test(accountName.value)) {
    throw new SettingsError(
      accountName.name,
      `"${accountName.value}" is not a storage account name (3-24 lower-case letters and digits)`,
    );
  }
  const derived = (service: 'queue' | 'table') =>
    accountName === undefined ? undefined : `https://${accountName.value}.${service}.core.windows.net`;
  const queueServiceUrl =
    queueUri === undefined ? derived('queue') : serviceUrl(queueUri.name, queueUri.value);
  const tableServiceUrl =
    tableUri === undefined ? derived('table') : serviceUrl(tableUri.name, tableUri.value);
  if (queueServiceUrl === undefined) {
    throw new SettingsError(
      `${name}__queueServiceUri`,
      `is required when ${name}__accountName is not set (the queues' endpoint, e.g. https://<account>.queue.core.windows.net)`,
    );
  }
  if (tableServiceUrl === undefined) {
    throw new SettingsError(
      `${name}__tableServiceUri`,
      `is required when ${name}__accountName is not set: the request ledger is a table (e.g. https://<account>.table.core.windows.net)`,
    );
  }
  if (credential !== undefined && credential.value.toLowerCase() !== 'managedidentity') {
    throw new SettingsError(
      credential.name,
      `"${credential.value}" is not supported: use "managedidentity" in Azure, or leave it unset to use DefaultAzureCredential (e.g. your az login) on your own machine`,
    );
  }
  if (clientId !== undefined && !CLIENT_ID.test(clientId.value)) {
    throw new SettingsError(
      clientId.name,
      `"${clientId.value}" is not a client id (the GUID of a user-assigned managed identity)`,
    );
  }
  return {
    kind: 'identity',
    queueServiceUrl,
    tableServiceUrl,
    managedIdentityOnly: credential !== undefined,
    ...(clientId === undefined ? {} : { clientId: clientId.value.toLowerCase() }),
  };
}

function connectionStringParts(connection: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const part of connection.split(';')) {
    const equals = part.indexOf('=');
    if (equals > 0) parts.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  return parts;
}

/** Where the storage is, for messages and the doctor: never the key or a SAS. */
export function describeStorageConnection(connection: StorageConnection): string {
  if (connection.kind === 'identity') {
    const identity =
      connection.clientId === undefined
        ? connection.managedIdentityOnly
          ? 'the managed identity'
          : 'DefaultAzureCredential'
        : `the managed identity ${connection.clientId}`;
    return `${connection.queueServiceUrl} (queues) and ${connection.tableServiceUrl} (tables) as ${identity}`;
  }
  const parts = connectionStringParts(connection.connectionString);
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true')
    return 'the local emulator (UseDevelopmentStorage=true)';
  const queueEndpoint = parts.get('queueendpoint');
  const account = parts.get('accountname');
  const where = queueEndpoint ?? (account === undefined ? undefined : `account ${account}`);
  return where ?? 'a connection string without AccountName or QueueEndpoint';
}

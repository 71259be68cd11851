/**
 * Storage SDK clients for a StorageConnection: with the connection string's key, or with a bearer token of the
 * app's identity (Function App: its managed identity; an admin's machine: DefaultAzureCredential, e.g. the
 * az login). Everything in the broker that touches queues or tables gets its clients here.
 */
import { TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';
import { rootCertificates } from 'node:tls';
import type { StorageConnection } from './connection';

export interface StorageClientOptions {
  /** Overrides the credential the connection names (tests: tokens straight from the identity stand-in). */
  credential?: TokenCredential;
  /** SDK tries per call (storage-queue counts the first try; data-tables counts retries after it). */
  maxRetries?: number;
  /**
   * TEST ONLY: a CA (PEM) to trust for an HTTPS table endpoint in addition to Node's roots (tests inside
   * jest's process cannot use NODE_EXTRA_CA_CERTS, which Node reads at start-up). Never set from settings.
   */
  trustedCaPemForTests?: string | readonly string[];
}

type IdentityConnection = Extract<StorageConnection, { kind: 'identity' }>;

// One credential per identity and process: each keeps its own token cache, so clients built later reuse it.
const credentials = new Map<string, TokenCredential>();

/** The credential an identity-based connection names, shared across the process's clients. */
export function storageCredential(connection: IdentityConnection): TokenCredential {
  const key = `${connection.managedIdentityOnly ? 'mi' : 'default'}:${connection.clientId ?? ''}`;
  let credential = credentials.get(key);
  if (credential === undefined) {
    if (connection.managedIdentityOnly) {
      credential =
        connection.clientId === undefined
          ? new ManagedIdentityCredential()
          : new ManagedIdentityCredential({ clientId: connection.clientId });
    } else {
      credential = new DefaultAzureCredential(
        connection.clientId === undefined ? {} : { managedIdentityClientId: connection.clientId },
      );
    }
    credentials.set(key, credential);
  }
  return credential;
}

/** True for http:// on the loopback interface (Azurite); everything else must be https. */
export function isLocalEmulatorEndpoint(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname.toLowerCase())
  );
}

export function createQueueServiceClient(
  connection: StorageConnection,
  options: StorageClientOptions = {},
): QueueServiceClient {
  const pipelineOptions: StoragePipelineOptions = {
    ...(options.maxRetries === undefined ? {} : { retryOptions: { maxTries: options.maxRetries + 1 } }),
    userAgentOptions: { userAgentPrefix: 'digicert-pkcs-broker' },
  };
  if (connection.kind === 'connectionString') {
    return QueueServiceClient.fromConnectionString(connection.connectionString, pipelineOptions);
  }
  return new QueueServiceClient(
    connection.queueServiceUrl,
    options.credential ?? storageCredential(connection),
    pipelineOptions,
  );
}

function tableClientOptions(options: StorageClientOptions): TableServiceClientOptions {
  return {
    ...(options.maxRetries === undefined ? {} : { retryOptions: { maxRetries: options.maxRetries } }),
    ...(options.trustedCaPemForTests === undefined
      ? {}
      : { tlsOptions: { ca: [...rootCertificates, ...[options.trustedCaPemForTests].flat()] } }),
    userAgentOptions: { userAgentPrefix: 'digicert-pkcs-broker' },
  };
}

/**
 * The SDK parses the connection string (explicit endpoints, UseDevelopmentStorage=true …); only then is the
 * table endpoint known, and only Azurite on loopback may be plain HTTP.
 */
function connectionStringOptions(
  tableEndpoint: string,
  options: StorageClientOptions,
): TableServiceClientOptions {
  return { ...tableClientOptions(options), allowInsecureConnection: isLocalEmulatorEndpoint(tableEndpoint) };
}

export function createTableClient(
  connection: StorageConnection,
  tableName: string,
  options: StorageClientOptions = {},
): TableClient {
  if (connection.kind === 'connectionString') {
    const parsed = TableClient.fromConnectionString(connection.connectionString, tableName);
    return TableClient.fromConnectionString(
      connection.connectionString,
      tableName,
      connectionStringOptions(parsed.url, options),
    );
  }
  return new TableClient(
    connection.tableServiceUrl,
    tableName,
    options.credential ?? storageCredential(connection),
    tableClientOptions(options),
  );
}

/** The account's table service (listing its tables), under the same endpoint rule as createTableClient. */
export function createTableServiceClient(
  connection: StorageConnection,
  options: StorageClientOptions = {},
): TableServiceClient {
  if (connection.kind === 'connectionString') {
    const parsed = TableServiceClient.fromConnectionString(connection.connectionString);
    return TableServiceClient.fromConnectionString(
      connection.connectionString,
      connectionStringOptions(parsed.url, options),
    );
  }
  return new TableServiceClient(
    connection.tableServiceUrl,
    options.credential ?? storageCredential(connection),
    tableClientOptions(options),
  );
}

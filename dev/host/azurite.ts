/**
 * Azurite (the Azure Storage emulator) as a child process, for the local stack and the tests. In-memory
 * persistence: nothing is written to disk. Ports are the emulator's defaults unless asked otherwise; 0 picks
 * free ports (the real ones are read from its output).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const AZURITE_ACCOUNT = 'devstoreaccount1';
/** Azurite's published development key (not a secret: it is the same on every machine). */
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  connectionString: string;
  /** Service URLs for identity-based access (AzureWebJobsStorage__queueServiceUri / __tableServiceUri). */
  queueServiceUrl: string;
  tableServiceUrl: string;
  queuePort: number;
  tablePort: number;
  blobPort: number;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  queuePort?: number;
  tablePort?: number;
  blobPort?: number;
  host?: string;
  /**
   * Serve HTTPS with this certificate and key (PEM files). Needed for bearer tokens, which Azurite (like
   * Azure Storage) refuses over HTTP. Clients must trust the certificate's issuer.
   */
  tls?: { certPath: string; keyPath: string };
  /** `--oauth basic`: accept bearer tokens for https://storage.azure.com (issuer, audience, lifetime). */
  oauth?: boolean;
}

export function azuriteConnectionString(
  host: string,
  ports: { queue: number; table: number; blob: number },
  protocol: 'http' | 'https' = 'http',
): string {
  return (
    `DefaultEndpointsProtocol=${protocol};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=${protocol}://${host}:${ports.blob}/${AZURITE_ACCOUNT};` +
    `QueueEndpoint=${protocol}://${host}:${ports.queue}/${AZURITE_ACCOUNT};` +
    `TableEndpoint=${protocol}://${host}:${ports.table}/${AZURITE_ACCOUNT};`
  );
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const host = options.host ?? '127.0.0.1';
  const cli = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
  const child = spawn(
    process.execPath,
    [
      cli,
      '--inMemoryPersistence',
      '--disableTelemetry',
      // storage-queue 12.30 speaks an API version newer than Azurite 3.35 knows.
      '--skipApiVersionCheck',
      '--blobHost',
      host,
      '--queueHost',
      host,
      '--tableHost',
      host,
      '--blobPort',
      String(options.blobPort ?? 0),
      '--queuePort',
      String(options.queuePort ?? 0),
      '--tablePort',
      String(options.tablePort ?? 0),
      ...(options.tls === undefined ? [] : ['--cert', options.tls.certPath, '--key', options.tls.keyPath]),
      ...(options.oauth === true ? ['--oauth', 'basic'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ports = await readPorts(child);
  const protocol = options.tls === undefined ? 'http' : 'https';
  return {
    connectionString: azuriteConnectionString(host, ports, protocol),
    queueServiceUrl: `${protocol}://${host}:${ports.queue}/${AZURITE_ACCOUNT}`,
    tableServiceUrl: `${protocol}://${host}:${ports.table}/${AZURITE_ACCOUNT}`,
    queuePort: ports.queue,
    tablePort: ports.table,
    blobPort: ports.blob,
    stop: () => stopChild(child),
  };
}

function readPorts(child: ChildProcess): Promise<{ queue: number; table: number; blob: number }> {
  return new Promise((resolve, reject) => {
    const found: Partial<Record<'queue' | 'table' | 'blob', number>> = {};
    let output = '';
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within 30 s:\n${output}`)), 30000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const match of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at https?:\/\/[^:]+:(\d+)/g,
      )) {
        found[match[1]!.toLowerCase() as 'queue' | 'table' | 'blob'] = Number(match[2]);
      }
      if (found.queue && found.table && found.blob) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve({ queue: found.queue, table: found.table, blob: found.blob });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => fail(new Error(`Azurite exited with code ${code}:\n${output}`)));
  });
}

export function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

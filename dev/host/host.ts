/**
 * `npm run host`: the broker's functions against the queues, configured from the environment (and from
 * local.settings.json's Values, as Functions Core Tools would), with no emulators started.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { issuePkcsCertificate, resultQueueOutput } from '../../functions/issuePkcsCertificate';
import { getBroker } from '../../shared/broker';
import { SettingsError } from '../../shared/config/settings';
import { LocalQueueHost } from './queueHost';
import { repoRoot } from './paths';

interface QueueHostJson {
  batchSize?: number;
  maxDequeueCount?: number;
  visibilityTimeout?: string;
  maxPollingInterval?: string;
}

function loadLocalSettings(file: string): void {
  if (!existsSync(file)) return;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> };
  for (const [name, value] of Object.entries(parsed.Values ?? {})) {
    if (process.env[name] === undefined && typeof value === 'string') process.env[name] = value;
  }
}

function seconds(timespan: string | undefined, fallback: number): number {
  const match = /^(\d+):(\d+):(\d+)$/.exec(timespan ?? '');
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : fallback;
}

export async function runHost(): Promise<LocalQueueHost> {
  loadLocalSettings(path.join(process.cwd(), 'local.settings.json'));
  const hostJson = JSON.parse(readFileSync(path.join(repoRoot(), 'host.json'), 'utf8')) as {
    extensions?: { queues?: QueueHostJson };
  };
  const queues = hostJson.extensions?.queues ?? {};
  // Settings are checked now, so a misconfiguration stops the host at start rather than on the first message.
  const { settings } = getBroker();
  if (!settings.storageConnection)
    throw new SettingsError('AzureWebJobsStorage', 'is required (a storage connection string)');
  const host = new LocalQueueHost({
    connectionString: settings.storageConnection,
    requestQueue: settings.requestQueue,
    resultQueue: settings.resultQueue,
    functionName: 'issuePkcsCertificate',
    handler: issuePkcsCertificate,
    resultOutput: resultQueueOutput,
    batchSize: queues.batchSize,
    maxDequeueCount: settings.maxDequeueCount,
    // Local runs may shorten host.json's visibility timeout so redeliveries come quickly.
    visibilityTimeoutSeconds: Number(
      process.env.QUEUE_VISIBILITY_TIMEOUT_SECONDS ?? seconds(queues.visibilityTimeout, 30),
    ),
    maxPollingIntervalMs: seconds(queues.maxPollingInterval, 2) * 1000,
  });
  await host.start();
  console.log(`host: listening on queue "${settings.requestQueue}", results to "${settings.resultQueue}"`);
  return host;
}

if (require.main === module) {
  runHost()
    .then((host) => {
      const shutdown = (): void => {
        host
          .stop()
          .then(() => getBroker().telemetry.flush())
          .finally(() => process.exit(0));
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    })
    .catch((error: unknown) => {
      console.error(`host: cannot start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}

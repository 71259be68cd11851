/**
 * `npm run host`: the broker's functions against the queues, configured from the environment (and from
 * local.settings.json's Values, as Functions Core Tools would), with no emulators started.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  resultQueueOutput,
  revocationResultOutput,
  supersedeRevocationOutput,
} from '../../functions/handlers/bindings';
import { issuePkcsCertificate, pkcsRequestPoison } from '../../functions/handlers/issuance';
import { postInvocationHooks } from '../../functions/handlers/postInvocation';
import { pkcsRevocationPoison, revokePkcsCertificate } from '../../functions/handlers/revocation';
import { getBroker } from '../../shared/broker';
import { SettingsError } from '../../shared/config/settings';
import { LocalQueueHost } from './queueHost';
import { repoRoot } from './paths';

interface QueueHostJson {
  batchSize?: number;
  newBatchThreshold?: number;
  maxDequeueCount?: number;
  visibilityTimeout?: string;
  maxPollingInterval?: string;
}

/** Copies local.settings.json Values into the environment (the environment wins). */
export function loadLocalSettings(file: string): void {
  if (!existsSync(file)) return;
  let parsed: { Values?: Record<string, unknown> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> };
  } catch {
    // The parser's message quotes the text around the error, which may be a password: say only where.
    throw new SettingsError(path.basename(file), 'is not valid JSON');
  }
  for (const [name, value] of Object.entries(parsed.Values ?? {})) {
    if (typeof value !== 'string') {
      console.warn(
        `host: ${path.basename(file)}: Values.${name} is ignored: settings must be strings (write "${String(value)}")`,
      );
      continue;
    }
    if (process.env[name] === undefined) process.env[name] = value;
  }
}

function seconds(timespan: string | undefined, fallback: number): number {
  const match = /^(\d+):(\d+):(\d+)$/.exec(timespan ?? '');
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : fallback;
}

/** Local runs may shorten host.json's visibility timeout so that redeliveries come quickly. */
function visibilityTimeoutSeconds(fromHostJson: number): number {
  const raw = process.env.QUEUE_VISIBILITY_TIMEOUT_SECONDS;
  if (raw === undefined || raw.trim() === '') return fromHostJson;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 3600) {
    throw new SettingsError(
      'QUEUE_VISIBILITY_TIMEOUT_SECONDS',
      `"${raw}" is not a whole number of seconds from 1 to 3600`,
    );
  }
  return value;
}

/**
 * A host.json queues setting, or the app setting that overrides it in Azure
 * (AzureFunctionsJobHost__extensions__queues__<name>), a whole number within [min, max].
 */
export function queueSetting(
  name: 'batchSize' | 'newBatchThreshold',
  fromHostJson: number | undefined,
  range: { min: number; max: number },
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  const setting = `AzureFunctionsJobHost__extensions__queues__${name}`;
  const raw = env[setting];
  if (raw === undefined || raw.trim() === '') return fromHostJson;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new SettingsError(setting, `"${raw}" is not a whole number from ${range.min} to ${range.max}`);
  }
  return value;
}

/** How many messages one receive takes: 1 to 32 (a queue receive takes at most 32). */
export function batchSize(
  fromHostJson: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  return queueSetting('batchSize', fromHostJson, { min: 1, max: 32 }, env);
}

export async function runHost(): Promise<LocalQueueHost[]> {
  loadLocalSettings(path.join(process.cwd(), 'local.settings.json'));
  const hostJson = JSON.parse(readFileSync(path.join(repoRoot(), 'host.json'), 'utf8')) as {
    extensions?: { queues?: QueueHostJson };
  };
  const queues = hostJson.extensions?.queues ?? {};
  // Settings are checked now, so a misconfiguration stops the host at start rather than on the first message.
  const { settings } = getBroker();
  if (settings.storage === undefined)
    throw new SettingsError(
      'AzureWebJobsStorage',
      'is required (a storage connection string, or AzureWebJobsStorage__accountName / __queueServiceUri + __tableServiceUri)',
    );
  const poisonQueue = `${settings.requestQueue}-poison`;
  const common = {
    storage: settings.storage,
    outputQueue: settings.resultQueue,
    output: resultQueueOutput,
    extraOutputs: [{ binding: supersedeRevocationOutput, queue: settings.revokeQueue }],
    batchSize: batchSize(queues.batchSize),
    newBatchThreshold: queueSetting('newBatchThreshold', queues.newBatchThreshold, { min: 0, max: 1000 }),
    maxDequeueCount: settings.maxDequeueCount,
    visibilityTimeoutSeconds: visibilityTimeoutSeconds(seconds(queues.visibilityTimeout, 30)),
    maxPollingIntervalMs: seconds(queues.maxPollingInterval, 2) * 1000,
    // As app.hook.postInvocation in Azure: the telemetry flush after every invocation.
    hooks: postInvocationHooks,
  };
  const hosts = [
    new LocalQueueHost({
      ...common,
      queue: settings.requestQueue,
      functionName: 'issuePkcsCertificate',
      handler: issuePkcsCertificate,
      poisonQueue,
    }),
    new LocalQueueHost({
      ...common,
      queue: poisonQueue,
      functionName: 'pkcsRequestPoison',
      handler: pkcsRequestPoison,
    }),
    new LocalQueueHost({
      ...common,
      queue: settings.revokeQueue,
      outputQueue: settings.revokeResultQueue,
      output: revocationResultOutput,
      extraOutputs: [],
      functionName: 'revokePkcsCertificate',
      handler: revokePkcsCertificate,
      poisonQueue: `${settings.revokeQueue}-poison`,
    }),
    new LocalQueueHost({
      ...common,
      queue: `${settings.revokeQueue}-poison`,
      outputQueue: settings.revokeResultQueue,
      output: revocationResultOutput,
      extraOutputs: [],
      functionName: 'pkcsRevocationPoison',
      handler: pkcsRevocationPoison,
    }),
  ];
  await Promise.all(hosts.map((host) => host.start()));
  console.log(
    `host: listening on queue "${settings.requestQueue}" (and "${poisonQueue}"), results to "${settings.resultQueue}"; revocations on "${settings.revokeQueue}", their results to "${settings.revokeResultQueue}"`,
  );
  return hosts;
}

if (require.main === module) {
  runHost()
    .then((hosts) => {
      const shutdown = (): void => {
        Promise.all(hosts.map((host) => host.stop()))
          .then(() => getBroker().telemetry.flush())
          .then(() => getBroker().close())
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

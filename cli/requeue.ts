/**
 * `npm run requeue -- [--from unhandled|poison] [--max <n>] [--dry-run]`: moves request messages that are stuck
 * in a poison queue back to the request queue, so each gets a fresh set of deliveries. Safe to repeat: the
 * request ledger makes a requestId issue at most once (a request that already has an outcome publishes the
 * stored result again), so a message moved twice, or one that already ended, costs no second certificate.
 *
 * `unhandled` (the default) is `<request queue>-poison-poison`: messages the poison-queue function could not
 * handle either, which nothing reads. `poison` is `<request queue>-poison`, normally drained at once.
 */
import { readSettings, SettingsError, type BrokerSettings } from '../shared/config/settings';
import { createQueueServiceClient, type StorageClientOptions } from '../shared/storage/clients';
import { describeStorageConnection, type StorageConnection } from '../shared/storage/connection';

type Env = Record<string, string | undefined>;

export const REQUEUE_USAGE = `Usage: npm run requeue -- [--from unhandled|poison] [--max <n>] [--dry-run]

  --from unhandled  <request queue>-poison-poison: messages nothing reads (default)
  --from poison     <request queue>-poison
  --max <n>         move at most n messages (default: all)
  --dry-run         list what would be moved, move nothing

Storage and queue names come from the environment, as for the broker (AzureWebJobsStorage or
AzureWebJobsStorage__accountName with your az login; PKCS_REQUEST_QUEUE).
Exit code: 0 done, 1 failed, 2 usage error.`;

export type RequeueSource = 'unhandled' | 'poison';

export interface RequeueOptions {
  from: RequeueSource;
  max?: number;
  dryRun?: boolean;
  clientOptions?: StorageClientOptions;
}

export interface RequeueReport {
  sourceQueue: string;
  targetQueue: string;
  /** The requestId of each message moved (or to be moved), or null when the message is not readable JSON. */
  requestIds: (string | null)[];
  dryRun: boolean;
}

export function sourceQueueName(settings: BrokerSettings, from: RequeueSource): string {
  return from === 'poison' ? `${settings.requestQueue}-poison` : `${settings.requestQueue}-poison-poison`;
}

function requestIdOf(text: string): string | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'requestId' in parsed) {
      return typeof parsed.requestId === 'string' ? parsed.requestId : null;
    }
  } catch {
    // Not JSON: moved all the same; the broker answers it with INVALID_REQUEST.
  }
  return null;
}

/** How long a message being moved stays invisible to others; it is deleted well before. */
const MOVE_VISIBILITY_SECONDS = 60;

export async function requeueMessages(
  storage: StorageConnection,
  settings: BrokerSettings,
  options: RequeueOptions,
): Promise<RequeueReport> {
  const service = createQueueServiceClient(storage, options.clientOptions);
  const sourceQueue = sourceQueueName(settings, options.from);
  const source = service.getQueueClient(sourceQueue);
  const target = service.getQueueClient(settings.requestQueue);
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const report: RequeueReport = {
    sourceQueue,
    targetQueue: settings.requestQueue,
    requestIds: [],
    dryRun: options.dryRun === true,
  };
  if (!(await source.exists())) return report;

  if (options.dryRun) {
    // Peeking leaves the messages as they are (at most 32 are shown).
    const { peekedMessageItems } = await source.peekMessages({ numberOfMessages: Math.min(32, max) });
    report.requestIds.push(...peekedMessageItems.map((message) => requestIdOf(message.messageText)));
    return report;
  }
  await target.createIfNotExists();
  while (report.requestIds.length < max) {
    const { receivedMessageItems } = await source.receiveMessages({
      numberOfMessages: Math.min(32, max - report.requestIds.length),
      visibilityTimeout: MOVE_VISIBILITY_SECONDS,
    });
    if (receivedMessageItems.length === 0) break;
    for (const message of receivedMessageItems) {
      // Sent before it is deleted: a crash in between leaves a copy in both queues, which the ledger makes
      // harmless, never none.
      await target.sendMessage(message.messageText);
      await source.deleteMessage(message.messageId, message.popReceipt);
      report.requestIds.push(requestIdOf(message.messageText));
    }
  }
  return report;
}

class UsageError extends Error {}

function parseArguments(argv: string[]): RequeueOptions {
  let from: RequeueSource = 'unhandled';
  let max: number | undefined;
  let dryRun = false;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--dry-run') dryRun = true;
    else if (argument === '--from') {
      const value = argv[++index];
      if (value !== 'unhandled' && value !== 'poison')
        throw new UsageError('--from takes unhandled or poison');
      from = value;
    } else if (argument === '--max') {
      const value = Number(argv[++index]);
      if (!Number.isInteger(value) || value < 1) throw new UsageError('--max takes a whole number above 0');
      max = value;
    } else throw new UsageError(`unknown argument ${argument}`);
  }
  return { from, ...(max === undefined ? {} : { max }), dryRun };
}

export async function runRequeue(
  argv: string[],
  env: Env,
  io: { out: (text: string) => void; err: (text: string) => void },
  clientOptions: StorageClientOptions = {},
): Promise<number> {
  let options: RequeueOptions;
  try {
    options = parseArguments(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`requeue: ${error.message}\n\n${REQUEUE_USAGE}`);
    return 2;
  }
  let settings: BrokerSettings;
  try {
    settings = readSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    io.err(`requeue: ${error.message}`);
    return 1;
  }
  if (settings.storage === undefined) {
    io.err(
      'requeue: AzureWebJobsStorage is not set: set AzureWebJobsStorage__accountName=<storage account> (with `az login`) or AzureWebJobsStorage=<connection string>',
    );
    return 1;
  }
  try {
    const report = await requeueMessages(settings.storage, settings, { ...options, clientOptions });
    const verb = report.dryRun ? 'would move' : 'moved';
    io.out(
      `requeue: ${verb} ${report.requestIds.length} message(s) from ${report.sourceQueue} to ${report.targetQueue} in ${describeStorageConnection(settings.storage)}`,
    );
    for (const requestId of report.requestIds) io.out(`  ${requestId ?? '(not a readable request)'}`);
    return 0;
  } catch (error) {
    io.err(`requeue: failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return 1;
  }
}

if (require.main === module) {
  runRequeue(process.argv.slice(2), process.env, {
    out: (text) => console.log(text),
    err: (text) => console.error(text),
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`requeue: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

/**
 * `npm run requeue` against Azurite: messages stuck in the poison queues go back to the request queue,
 * byte for byte, and the source is emptied; a dry run moves nothing.
 */
import type { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import { runRequeue } from '../../../cli/requeue';
import { createQueueServiceClient } from '../../../shared/storage/clients';

let azurite: RunningAzurite;
let queueNumber = 0;

beforeAll(async () => {
  azurite = await startAzurite();
}, 60000);

afterAll(async () => {
  await azurite?.stop();
});

interface Queues {
  env: Record<string, string>;
  requests: QueueClient;
  poison: QueueClient;
  unhandled: QueueClient;
}

async function freshQueues(): Promise<Queues> {
  queueNumber += 1;
  const name = `requeue-${queueNumber}`;
  const service = createQueueServiceClient({
    kind: 'connectionString',
    connectionString: azurite.connectionString,
  });
  const queues = {
    requests: service.getQueueClient(name),
    poison: service.getQueueClient(`${name}-poison`),
    unhandled: service.getQueueClient(`${name}-poison-poison`),
  };
  await Promise.all(Object.values(queues).map((queue) => queue.createIfNotExists()));
  return { env: { AzureWebJobsStorage: azurite.connectionString, PKCS_REQUEST_QUEUE: name }, ...queues };
}

async function texts(queue: QueueClient): Promise<string[]> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((message) => message.messageText).sort();
}

async function run(argv: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runRequeue(argv, env, {
    out: (text) => lines.push(text),
    err: (text) => lines.push(text),
  });
  return { code, out: lines.join('\n') };
}

const request = (requestId: string): string => JSON.stringify({ schemaVersion: 1, requestId });

describe('npm run requeue', () => {
  it('moves every unhandled poison message back to the request queue, unchanged', async () => {
    const queues = await freshQueues();
    const stuck = [request('r-1'), request('r-2'), '{"schemaVersion": 1, "requestId": "broken-'];
    for (const text of stuck) await queues.unhandled.sendMessage(text);

    const { code, out } = await run([], queues.env);

    expect(code).toBe(0);
    expect(out).toMatch(/^requeue: moved 3 message\(s\) from requeue-\d+-poison-poison to requeue-\d+ in /);
    expect(out).toContain('  r-1');
    expect(out).toContain('  (not a readable request)');
    expect(await texts(queues.requests)).toEqual([...stuck].sort());
    expect(await texts(queues.unhandled)).toEqual([]);
  });

  it('lists without moving on --dry-run', async () => {
    const queues = await freshQueues();
    await queues.unhandled.sendMessage(request('r-dry'));
    const { code, out } = await run(['--dry-run'], queues.env);
    expect(code).toBe(0);
    expect(out).toMatch(/would move 1 message\(s\)/);
    expect(await texts(queues.unhandled)).toEqual([request('r-dry')]);
    expect(await texts(queues.requests)).toEqual([]);
  });

  it('takes --from poison and --max', async () => {
    const queues = await freshQueues();
    for (const id of ['p-1', 'p-2', 'p-3']) await queues.poison.sendMessage(request(id));
    const { code } = await run(['--from', 'poison', '--max', '2'], queues.env);
    expect(code).toBe(0);
    expect(await texts(queues.requests)).toHaveLength(2);
    expect(await texts(queues.poison)).toHaveLength(1);
  });

  it('moves nothing from a queue that does not exist', async () => {
    const queues = await freshQueues();
    await queues.unhandled.delete();
    const { code, out } = await run([], queues.env);
    expect(code).toBe(0);
    expect(out).toMatch(/moved 0 message\(s\)/);
  });

  it.each([
    [['--from', 'elsewhere'], /--from takes unhandled or poison/],
    [['--max', '0'], /--max takes a whole number above 0/],
    [['--force'], /unknown argument --force/],
  ])('refuses %j with the usage', async (argv, message) => {
    const { code, out } = await run(argv, { AzureWebJobsStorage: azurite.connectionString });
    expect(code).toBe(2);
    expect(out).toMatch(message);
    expect(out).toContain('Usage: npm run requeue');
  });

  it('says how to point it at storage when none is set', async () => {
    const { code, out } = await run([], {});
    expect(code).toBe(1);
    expect(out).toContain('AzureWebJobsStorage__accountName=<storage account>');
  });
});

/** What the queue handlers read of a delivery, and how they put a deferred message back on its queue. */
import { InvocationContext } from '@azure/functions';
import { deferAgain, dequeueCountOf, warnRetry } from '../../../functions/handlers/delivery';
import { BrokerError } from '../../../shared/contract/errors';
import { LedgerConflictError } from '../../../shared/ledger/types';
import { REQUEST_JOB, toBrokerError } from '../../../shared/delivery';

function recordingContext(triggerMetadata?: Record<string, unknown>): {
  context: InvocationContext;
  logged: string[];
} {
  const logged: string[] = [];
  const context = new InvocationContext({
    functionName: 'f',
    invocationId: 'i',
    ...(triggerMetadata === undefined ? {} : { triggerMetadata }),
    logHandler: (level, ...args) => logged.push(`${level}: ${args.map(String).join(' ')}`),
  });
  return { context, logged };
}

describe('dequeueCountOf', () => {
  it('reads the dequeueCount the host gives, and nothing else', () => {
    expect(dequeueCountOf(recordingContext({ dequeueCount: 3 }).context)).toBe(3);
    expect(dequeueCountOf(recordingContext({ dequeueCount: '2' }).context)).toBe(2);
    expect(dequeueCountOf(recordingContext({ dequeueCount: 0 }).context)).toBeUndefined();
    expect(dequeueCountOf(recordingContext().context)).toBeUndefined();
  });
});

describe('deferAgain', () => {
  const error = new BrokerError('CA_UNAVAILABLE', 'the CA answered 503');

  it('sends the message as it came (JSON again if the host parsed it), then says so', async () => {
    const sent: [string, number][] = [];
    const send = (text: string, delay: number): Promise<void> => {
      sent.push([text, delay]);
      return Promise.resolve();
    };
    const { context, logged } = recordingContext();
    await deferAgain(send, { requestId: 'r-1' }, context, 'request r-1', { error, delaySeconds: 60 });
    await deferAgain(send, 'not json', context, 'revocation v-1', { error, delaySeconds: 5 });
    expect(sent).toEqual([
      ['{"requestId":"r-1"}', 60],
      ['not json', 5],
    ]);
    expect(logged).toEqual([
      'warning: request r-1: CA_UNAVAILABLE on the last delivery, back on the queue in 60 s: the CA answered 503',
      'warning: revocation v-1: CA_UNAVAILABLE on the last delivery, back on the queue in 5 s: the CA answered 503',
    ]);
  });

  it('throws when the message cannot be sent, so the delivery fails (the poison path)', async () => {
    const { context, logged } = recordingContext();
    const refused = new Error('queue unavailable');
    await expect(
      deferAgain(() => Promise.reject(refused), 'm', context, 'request r-1', { error, delaySeconds: 1 }),
    ).rejects.toBe(refused);
    expect(logged).toEqual([]);
  });
});

describe('warnRetry', () => {
  it('names an outage by its code, and a concurrent delivery or an exception as unforeseen, not GAVE_UP', () => {
    const { context, logged } = recordingContext();
    warnRetry(context, 'request r-1', new BrokerError('CA_UNAVAILABLE', 'the CA answered 503'), 1);
    warnRetry(context, 'request r-1', toBrokerError(new LedgerConflictError('r-1'), REQUEST_JOB), 2);
    warnRetry(context, 'revocation v-1', toBrokerError(new Error('boom\u202e'), REQUEST_JOB), 3);
    expect(logged).toEqual([
      'warning: request r-1: CA_UNAVAILABLE on delivery 1, will retry: the CA answered 503',
      'warning: request r-1: an unforeseen failure on delivery 2, will retry: Another delivery of request r-1 is handling it at the same time.',
      'warning: revocation v-1: an unforeseen failure on delivery 3, will retry: The broker failed unexpectedly: boom<U+202E>',
    ]);
  });
});

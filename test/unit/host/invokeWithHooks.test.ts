/** The local host runs a handler as the Functions worker does: handler, postInvocation hooks, then the error. */
import { InvocationContext, type PostInvocationContext } from '@azure/functions';
import { invokeWithHooks } from '../../../dev/host/queueHost';

const context = (): InvocationContext => new InvocationContext({ functionName: 'f', invocationId: 'i' });

describe('invokeWithHooks', () => {
  it('runs every hook after a handler that succeeds, in order, with its input and context', async () => {
    const seen: string[] = [];
    const invocationContext = context();
    const hook =
      (name: string) =>
      (hookContext: PostInvocationContext): void => {
        expect(hookContext.invocationContext).toBe(invocationContext);
        expect(hookContext.inputs).toEqual(['message']);
        seen.push(`${name}: ${String(hookContext.error)}`);
      };
    await invokeWithHooks(
      async () => {
        seen.push('handler');
      },
      'message',
      invocationContext,
      [hook('first'), hook('second')],
    );
    expect(seen).toEqual(['handler', 'first: null', 'second: null']);
  });

  it('runs the hooks after a handler that throws, then throws its error', async () => {
    const failure = new Error('CA_UNAVAILABLE');
    const errors: unknown[] = [];
    await expect(
      invokeWithHooks(() => Promise.reject(failure), 'message', context(), [
        (hookContext) => {
          errors.push(hookContext.error);
        },
      ]),
    ).rejects.toBe(failure);
    expect(errors).toEqual([failure]);
  });

  it('waits for each hook before the invocation ends', async () => {
    let flushed = false;
    await invokeWithHooks(() => Promise.resolve(), 'message', context(), [
      () => new Promise<void>((resolve) => setTimeout(() => ((flushed = true), resolve()), 20)),
    ]);
    expect(flushed).toBe(true);
  });
});

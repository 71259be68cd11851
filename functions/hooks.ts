/**
 * After every invocation of every function of this app, however it ended, the hooks of
 * handlers/postInvocation.ts run: the one flush of the broker's telemetry. The local host runs the same list.
 * As the host stops the worker, the broker's background work ends (the key pool drops its keys).
 */
import { app } from '@azure/functions';
import { builtBroker } from '../shared/broker';
import { postInvocationHooks } from './handlers/postInvocation';

for (const hook of postInvocationHooks) app.hook.postInvocation(hook);
app.hook.appTerminate(() => builtBroker()?.close());

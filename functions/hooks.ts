/**
 * After every invocation of every function of this app, however it ended, the hooks of
 * handlers/postInvocation.ts run: the one flush of the broker's telemetry. The local host runs the same list.
 */
import { app } from '@azure/functions';
import { postInvocationHooks } from './handlers/postInvocation';

for (const hook of postInvocationHooks) app.hook.postInvocation(hook);

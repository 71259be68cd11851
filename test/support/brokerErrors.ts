/**
 * Getting hold of the BrokerError a call ends with, so a test can assert on its code, message and remedy.
 * Anything else — no error at all, or an error of another kind — fails the test with a message saying so.
 */
import { BrokerError } from '../../shared/contract/errors';

function requireBrokerError(error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  throw new Error(`expected a BrokerError, got ${String(error)}`, { cause: error });
}

/** Runs `action`, requires it to throw a BrokerError, and returns it. */
export function brokerErrorOf(action: () => unknown): BrokerError {
  try {
    action();
  } catch (error) {
    return requireBrokerError(error);
  }
  throw new Error('expected a BrokerError, but nothing was thrown');
}

/** Awaits `call`, requires it to reject with a BrokerError, and returns it. */
export async function failureOf(call: Promise<unknown>): Promise<BrokerError> {
  try {
    await call;
  } catch (error) {
    return requireBrokerError(error);
  }
  throw new Error('expected a BrokerError, but the call succeeded');
}

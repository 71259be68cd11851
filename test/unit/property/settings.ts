/**
 * One configuration for every property test: a fixed seed, so a failure found in CI fails the same way on a
 * developer's machine, and a bounded number of runs, so `npm test` stays fast. To explore further, run
 * `FC_SEED=<any integer> FC_RUNS=5000 npx jest test/unit/property`; a failure prints the seed and path that
 * reproduce it.
 */
import fc from 'fast-check';

export const PROPERTY_SEED = Number(process.env.FC_SEED ?? 20261205);
export const PROPERTY_RUNS = Number(process.env.FC_RUNS ?? 300);

fc.configureGlobal({ seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS, interruptAfterTimeLimit: 20_000 });

/** Runs `action`; returns normally when it returns or throws one of `allowed`, else rethrows. */
export function onlyThrows(
  action: () => unknown,
  ...allowed: (abstract new (...args: never[]) => Error)[]
): void {
  try {
    action();
  } catch (error) {
    if (allowed.some((type) => error instanceof type)) return;
    throw error;
  }
}

export { fc };

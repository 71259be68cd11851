/**
 * `npm run soak -- [--requests 1000] [--fault-rate 0.2] [--seed N] [--kill-at 0.5 | --no-kill]
 * [--max-outstanding K] [--search-start-index 0|1] [--timeout <seconds>] [--keep-logs] [--json <file>]`: runs the soak test and prints its
 * report; exits 0 only when every check passes.
 */
import { writeFileSync } from 'node:fs';
import { formatSoakReport } from './report';
import type { SoakOptions } from './settings';
import { runSoak } from './soak';

const USAGE =
  'usage: npm run soak -- [--requests 1000] [--fault-rate 0.2] [--seed N] [--kill-at 0.5 | --no-kill] ' +
  '[--max-outstanding K] [--search-start-index 0|1] [--timeout <seconds>] [--keep-logs] [--json <file>]';

class UsageError extends Error {}

interface CliOptions {
  soak: SoakOptions;
  jsonFile?: string;
}

export function parseArguments(argv: readonly string[]): CliOptions {
  const soak: SoakOptions = { requests: 1000, faultRate: 0.2, timeoutMs: 0 };
  let timeoutSeconds: number | undefined;
  let jsonFile: string | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const name = argv[index]!;
    const value = (): string => {
      const next = argv[index + 1];
      if (next === undefined) throw new UsageError(`${name} needs a value`);
      index += 1;
      return next;
    };
    const number = (check: (parsed: number) => boolean, expected: string): number => {
      const raw = value();
      const parsed = Number(raw);
      if (raw.trim() === '' || !check(parsed))
        throw new UsageError(`${name} takes ${expected} (got "${raw}")`);
      return parsed;
    };
    switch (name) {
      case '--requests':
        soak.requests = number((n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1');
        break;
      case '--fault-rate':
        soak.faultRate = number((n) => n >= 0 && n <= 1, 'a number from 0 to 1');
        break;
      case '--seed':
        soak.seed = number((n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'a whole number ≥ 0');
        break;
      case '--kill-at':
        soak.killHostAt = number((n) => n > 0 && n < 1, 'a fraction between 0 and 1');
        break;
      case '--no-kill':
        soak.killHostAt = null;
        break;
      case '--max-outstanding':
        soak.maxOutstanding = number((n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1');
        break;
      case '--timeout':
        timeoutSeconds = number((n) => n > 0, 'a number of seconds');
        break;
      case '--search-start-index': {
        const base = number((n) => n === 0 || n === 1, '0 or 1');
        soak.searchStartIndexBase = base === 0 ? 0 : 1;
        break;
      }
      case '--keep-logs':
        soak.keepLogs = true;
        break;
      case '--json':
        jsonFile = value();
        break;
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown argument "${name}"`);
    }
  }
  // Room for ~2 results a second (a busy 2-core machine) plus the faults' delays, never less than two minutes.
  soak.timeoutMs = (timeoutSeconds ?? Math.max(120, 60 + soak.requests / 2)) * 1000;
  return { soak, jsonFile };
}

async function main(argv: readonly string[]): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseArguments(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      if (error.message !== '') console.error(`soak: ${error.message}`);
      console.error(USAGE);
      return 64;
    }
    throw error;
  }
  const report = await runSoak({ ...cli.soak, log: (line) => console.error(line) });
  console.log(formatSoakReport(report));
  if (cli.jsonFile !== undefined) writeFileSync(cli.jsonFile, JSON.stringify(report, null, 2) + '\n');
  return report.passed ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(2);
    },
  );
}

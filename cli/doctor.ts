/**
 * `npm run doctor -- [--json] [--quick] [--settings <file>]`: checks the broker's configuration the way it
 * runs (settings, Key Vault, RA certificate, each allowed CA host, the profiles in PROFILE_OIDS, queues and
 * ledger) and names, for every failure, the seed's troubleshooting row and the remedy. Exit code 0 when
 * nothing failed (warnings allowed), 1 when something did, 2 for a usage error.
 *
 * Settings come from the environment and, as for `npm run host`, from local.settings.json's Values in the
 * current folder (the environment wins; --settings names another file). Trust for a private or test CA comes
 * from NODE_EXTRA_CA_CERTS, as for the broker itself.
 */
/* eslint-disable security/detect-non-literal-fs-filename -- an operator's command: the settings file the operator names (--settings) or local.settings.json */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { exitCodeOf, formatDoctorReport, runDoctor } from '../shared/doctor';

type Env = Record<string, string | undefined>;

export const DOCTOR_USAGE = `Usage: npm run doctor -- [--json] [--quick] [--settings <local.settings.json>]

  --json       the report as JSON (for scripts and monitoring)
  --quick      only the health probe's checks: settings, Key Vault, RA certificate, CA health per host
  --settings   read Values from this file (default: ./local.settings.json when present; the environment wins)

Exit code: 0 nothing failed (warnings allowed), 1 a check failed, 2 usage error.`;

export interface DoctorCliOptions {
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** The local.settings.json to read when --settings is not given (the command line passes ./local.settings.json). */
  defaultSettingsFile?: string;
  /** TEST ONLY: CA certificates (PEM) to trust besides Node's roots (see DoctorOptions.trustedCaPemForTests). */
  trustedCaPemForTests?: string[];
  keyVaultCredential?: TokenCredential;
  now?: () => Date;
}

interface DoctorArguments {
  json: boolean;
  quick: boolean;
  settingsFile?: string;
}

class UsageError extends Error {}

function parseArguments(argv: string[]): DoctorArguments {
  const parsed: DoctorArguments = { json: false, quick: false };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === '--json') parsed.json = true;
    else if (argument === '--quick') parsed.quick = true;
    else if (argument === '--settings') {
      const file = argv[index + 1];
      if (file === undefined || file.startsWith('--')) throw new UsageError('--settings needs a file');
      parsed.settingsFile = file;
      index += 1;
    } else throw new UsageError(`unknown argument "${argument}"`);
  }
  return parsed;
}

/** local.settings.json Values under the environment (strings only, as the Functions host takes them). */
export function withLocalSettings(env: Env, file: string): { env: Env; ignored: string[] } {
  let parsed: { Values?: Record<string, unknown> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> };
  } catch {
    // The parser's message quotes the text near the error, which may be a password: say only where.
    throw new UsageError(`${file} cannot be read as JSON`);
  }
  const merged: Env = {};
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(parsed.Values ?? {})) {
    if (typeof value === 'string') merged[name] = value;
    else ignored.push(name);
  }
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return { env: merged, ignored };
}

export async function main(
  argv: string[],
  env: Env = process.env,
  options: DoctorCliOptions = {},
): Promise<number> {
  const out = options.out ?? ((text: string) => process.stdout.write(text));
  const err = options.err ?? ((text: string) => process.stderr.write(text));
  let args: DoctorArguments;
  let settingsEnv = env;
  try {
    args = parseArguments(argv);
    const file = args.settingsFile ?? options.defaultSettingsFile;
    if (file !== undefined && (args.settingsFile !== undefined || existsSync(file))) {
      const merged = withLocalSettings(env, file);
      settingsEnv = merged.env;
      if (!args.json) {
        const ignored =
          merged.ignored.length > 0 ? ` (not strings, ignored: ${merged.ignored.join(', ')})` : '';
        out(`settings: the environment, then ${path.resolve(file)}${ignored}\n`);
      }
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`doctor: ${error.message}\n\n${DOCTOR_USAGE}\n`);
    return 2;
  }
  const report = await runDoctor({
    env: settingsEnv,
    mode: args.quick ? 'quick' : 'full',
    ...(options.trustedCaPemForTests === undefined
      ? {}
      : { trustedCaPemForTests: options.trustedCaPemForTests }),
    ...(options.keyVaultCredential === undefined ? {} : { keyVaultCredential: options.keyVaultCredential }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  out(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
  return exitCodeOf(report);
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, {
    defaultSettingsFile: path.join(process.cwd(), 'local.settings.json'),
  })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      console.error(`doctor: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    });
}

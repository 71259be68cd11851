/**
 * `npm run export-root -- <profileOid> [--ca <host>] [--out <dir>]`: reads the profile's policy from the CA
 * (getPolicies over mutual TLS with the RA certificate, as the broker does) and writes its root and
 * intermediate CA certificates as DER `.cer` files named after their subject CN — what an Intune
 * "Trusted certificate" profile takes — then prints each with its thumbprints. Placeholders in the policy
 * that are not certificates are skipped and named.
 */
/* eslint-disable security/detect-non-literal-fs-filename -- an operator's command: the --out folder the operator names */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { readSettings, SettingsError, type BrokerSettings } from '../shared/config/settings';
import { isBrokerError } from '../shared/contract/errors';
import { PkiWsClient } from '../shared/digicert/client';
import { resolveCaHost } from '../shared/digicert/transport';
import {
  createRaSource,
  formatTroubleshootingRow,
  NO_ROW,
  policyCaCertificates,
  troubleshootingRowFor,
  type PolicyCaCertificate,
} from '../shared/doctor';
import { isDottedOid } from '../shared/mapping/text';

type Env = Record<string, string | undefined>;

export const EXPORT_ROOT_USAGE = `Usage: npm run export-root -- <profileOid> [--ca <host>] [--out <dir>]

  <profileOid>  the DigiCert certificate profile OID (as in the Intune PKCS profile's template name)
  --ca <host>   the CA host to ask (one of CA_ALLOWED_HOSTS; required when several are allowed)
  --out <dir>   where to write the .cer files (default: the current folder)

Settings (RA certificate, CA_ALLOWED_HOSTS, timeouts) come from the environment, as for the broker.
Exit code: 0 written, 1 failed, 2 usage error.`;

export interface ExportRootOptions {
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Folder --out is relative to (default process.cwd()). */
  cwd?: string;
  /** TEST ONLY: CA certificates (PEM) to trust besides Node's roots (production: NODE_EXTRA_CA_CERTS). */
  trustedCaPemForTests?: string[];
  keyVaultCredential?: TokenCredential;
}

interface ExportArguments {
  profileOid: string;
  caHost?: string;
  outDir?: string;
}

class UsageError extends Error {}

function parseArguments(argv: string[]): ExportArguments {
  const positional: string[] = [];
  let caHost: string | undefined;
  let outDir: string | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--ca' || argument === '--out') {
      const value = argv[index + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${argument} needs a value`);
      if (argument === '--ca') caHost = value;
      else outDir = value;
      index += 1;
    } else if (argument.startsWith('--')) {
      throw new UsageError(`unknown option "${argument}"`);
    } else {
      positional.push(argument);
    }
  }
  if (positional.length !== 1) {
    throw new UsageError(
      positional.length === 0 ? 'the profile OID is missing' : `one profile OID, not ${positional.length}`,
    );
  }
  const profileOid = positional[0]!;
  if (!isDottedOid(profileOid)) {
    throw new UsageError(
      `"${profileOid}" is not a profile OID (dotted decimal, e.g. 2.16.840.1.113733.1.16.1.2.3.1.1.47196109)`,
    );
  }
  const parsed: ExportArguments = { profileOid };
  if (caHost !== undefined) parsed.caHost = caHost;
  if (outDir !== undefined) parsed.outDir = outDir;
  return parsed;
}

function chooseCaHost(settings: BrokerSettings, requested: string | undefined): string {
  if (requested !== undefined) return resolveCaHost(requested, settings.caAllowedHosts).authority;
  if (settings.caAllowedHosts.length === 1) {
    return resolveCaHost(settings.caAllowedHosts[0]!, settings.caAllowedHosts).authority;
  }
  throw new UsageError(
    settings.caAllowedHosts.length === 0
      ? 'CA_ALLOWED_HOSTS is empty: set it to the DigiCert PKI-WS host'
      : `CA_ALLOWED_HOSTS allows several CA hosts (${settings.caAllowedHosts.join(', ')}): choose one with --ca`,
  );
}

function describe(certificate: PolicyCaCertificate, file: string): string[] {
  return [
    `  ${certificate.role.padEnd(12)}  ${file}`,
    `                subject   ${certificate.subject}`,
    `                issuer    ${certificate.issuer}${certificate.signedBy === undefined && certificate.role !== 'root' ? ' (not among these certificates)' : ''}`,
    `                SHA-1     ${certificate.thumbprint}`,
    `                SHA-256   ${certificate.thumbprintSha256}`,
    `                valid     ${certificate.notBefore.toISOString()} → ${certificate.notAfter.toISOString()}`,
  ];
}

export async function main(
  argv: string[],
  env: Env = process.env,
  options: ExportRootOptions = {},
): Promise<number> {
  const out = options.out ?? ((text: string) => process.stdout.write(text));
  const err = options.err ?? ((text: string) => process.stderr.write(text));
  let args: ExportArguments;
  let settings: BrokerSettings;
  let caHost: string;
  try {
    args = parseArguments(argv);
    settings = readSettings(env);
    caHost = chooseCaHost(settings, args.caHost);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`export-root: ${error.message}\n\n${EXPORT_ROOT_USAGE}\n`);
      return 2;
    }
    if (error instanceof SettingsError) {
      err(`export-root: setting ${error.message}\n`);
      return 1;
    }
    if (isBrokerError(error)) {
      err(`export-root: ${error.code}: ${error.message}\n  remedy: ${error.remedy}\n`);
      return 2;
    }
    throw error;
  }

  const client = new PkiWsClient({
    settings: { ...settings, caMaxAttempts: 1 },
    credential: createRaSourceOrFailure(settings, options),
    ...(options.trustedCaPemForTests === undefined
      ? {}
      : { extraTrustedCaPem: options.trustedCaPemForTests }),
  });
  try {
    const policy = await client.getPolicy(caHost, args.profileOid);
    const { certificates, skipped } = policyCaCertificates(policy);
    const name = policy.friendlyName === undefined ? '' : ` ("${policy.friendlyName}")`;
    for (const reason of skipped) err(`export-root: skipped ${reason}\n`);
    if (certificates.length === 0) {
      err(
        `export-root: the policy of profile ${args.profileOid}${name} at ${caHost} carries no CA certificate that could be read${skipped.length > 0 ? ` (${skipped.length} skipped)` : ''}. Download the root and intermediates from the DigiCert portal instead.\n`,
      );
      return 1;
    }
    const dir = path.resolve(options.cwd ?? process.cwd(), args.outDir ?? '.');
    mkdirSync(dir, { recursive: true });
    const lines = [
      `export-root: profile ${args.profileOid}${name} at ${caHost}: ${certificates.length} CA certificate(s) written to ${dir}`,
    ];
    for (const certificate of certificates) {
      const file = path.join(dir, certificate.fileName);
      writeFileSync(file, certificate.der, { mode: 0o644 });
      lines.push(...describe(certificate, file));
    }
    lines.push(
      '',
      'In Intune, create a "Trusted certificate" profile per file: the root with destination store "Computer certificate store - Root", each intermediate with "Computer certificate store - Intermediate" (Windows); assign them to the same groups as the PKCS certificate profile (platforms other than Windows, such as Android, also select the root\'s profile in the PKCS profile).',
    );
    out(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (!isBrokerError(error)) throw error;
    const row = troubleshootingRowFor(error);
    err(
      [
        `export-root: ${error.code}: ${error.message}${error.caMessage !== undefined && !error.message.includes(error.caMessage) ? ` (the CA said: ${error.caMessage})` : ''}`,
        `  seed row: ${row === undefined ? NO_ROW : formatTroubleshootingRow(row)}`,
        `  remedy:   ${error.remedy}`,
        '',
      ].join('\n'),
    );
    return 1;
  } finally {
    await client.close();
  }
}

/** The RA source for these settings; an unusable configuration surfaces as the first load's error. */
function createRaSourceOrFailure(settings: BrokerSettings, options: ExportRootOptions) {
  try {
    return createRaSource(settings, options);
  } catch (error) {
    return { load: () => Promise.reject(error) };
  }
}

if (require.main === module) {
  main(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      console.error(`export-root: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    });
}

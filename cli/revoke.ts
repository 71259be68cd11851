/**
 * `npm run revoke -- --serial <hex> --ca <host> | --request-id <id> [--reason <reason>] [--comment <text>]
 * [--revocation-id <id>] [--timeout <seconds>]`: puts a revocation on PKCS_REVOKE_QUEUE, waits for its result
 * on PKCS_REVOKE_RESULT_QUEUE and prints it. Storage as for `npm run submit`: the local stack's (`npm start`),
 * or AzureWebJobsStorage (a connection string, or AzureWebJobsStorage__accountName with your `az login`).
 * Exit code 0 when the certificate is revoked (or was), 2 when the revocation failed, 64 for a usage error.
 * Signed as `npm run submit` signs, when KEY_VAULT_URL and REQUEST_SIGNING_SECRET_NAME are set.
 */
import { randomUUID } from 'node:crypto';
import type { RevocationResult } from '../shared/contract/types';
import { readStorageConnection } from '../shared/storage/connection';
import { readStack } from '../dev/host/stack';
import {
  errorLines,
  flagValue,
  isRefusalNaming,
  sendAndWait,
  signerFromEnvironment,
  UsageError,
} from '../dev/host/submit';

const USAGE =
  'usage: npm run revoke -- (--serial <hex> [--ca <host>] | --request-id <id>) [--reason <reason>] [--comment <text>] [--revocation-id <id>] [--timeout <seconds>]\n' +
  '  reasons: Unspecified (default), KeyCompromise, CACompromise, AffiliationChanged, Superseded, CessationOfOperation, PrivilegeWithdrawn, AACompromise';

/** The revocation message the flags describe (validated by the broker, which names any bad field). */
export function revocationFromArguments(argv: string[], defaultCa?: string): Record<string, unknown> {
  const serialNumber = flagValue(argv, '--serial');
  const requestId = flagValue(argv, '--request-id');
  if ((serialNumber === undefined) === (requestId === undefined)) {
    throw new UsageError('give exactly one of --serial and --request-id');
  }
  const certificateAuthority =
    flagValue(argv, '--ca') ?? (serialNumber !== undefined ? defaultCa : undefined);
  if (serialNumber !== undefined && certificateAuthority === undefined) {
    throw new UsageError('--serial needs --ca <host> (the CA that issued the certificate)');
  }
  const known = new Set([
    '--serial',
    '--request-id',
    '--ca',
    '--reason',
    '--comment',
    '--revocation-id',
    '--timeout',
  ]);
  for (let index = 0; index < argv.length; index += 2) {
    if (!known.has(argv[index]!)) throw new UsageError(`unknown argument "${argv[index]}"`);
  }
  const optional = (name: string, value: string | undefined) =>
    value === undefined ? {} : { [name]: value };
  return {
    schemaVersion: 1,
    revocationId: flagValue(argv, '--revocation-id') ?? randomUUID(),
    ...optional('certificateAuthority', certificateAuthority),
    ...optional('serialNumber', serialNumber),
    ...optional('requestId', requestId),
    ...optional('reason', flagValue(argv, '--reason')),
    ...optional('comment', flagValue(argv, '--comment')),
  };
}

export function summarizeRevocation(result: RevocationResult): string {
  const lines = [
    `revocation ${result.revocationId ?? '(unreadable)'}: ${result.status.toUpperCase()} at ${result.completedAt}`,
  ];
  if (result.status === 'failed') return [...lines, ...errorLines(result.error)].join('\n');
  lines.push(`  serial:   ${result.serialNumber}${result.requestId ? ` (request ${result.requestId})` : ''}`);
  lines.push(`  reason:   ${result.reason}`);
  if (result.alreadyRevoked) lines.push('  note:     the CA had revoked it already; nothing was changed');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const stack = readStack();
  let revocation: Record<string, unknown>;
  let timeoutSeconds: number;
  try {
    revocation = revocationFromArguments(argv, stack?.caHost);
    timeoutSeconds = Number(flagValue(argv, '--timeout') ?? 120);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
      throw new UsageError('--timeout takes a number of seconds, e.g. --timeout 60');
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`revoke: ${error.message}\n${USAGE}`);
    return 64;
  }
  const storage = readStorageConnection(process.env) ?? stack?.connectionString;
  if (storage === undefined) {
    console.error(
      'revoke: no local stack is running and AzureWebJobsStorage is not set: run `npm start` first, or set AzureWebJobsStorage__accountName=<storage account> (with `az login`) or AzureWebJobsStorage=<connection string>',
    );
    return 64;
  }
  const revocationId = String(revocation.revocationId);
  const result = await sendAndWait<RevocationResult>(
    revocation,
    {
      storage,
      requestQueue: process.env.PKCS_REVOKE_QUEUE ?? 'pkcs-revocations',
      resultQueue: process.env.PKCS_REVOKE_RESULT_QUEUE ?? 'pkcs-revocation-results',
      timeoutMs: timeoutSeconds * 1000,
      sign: signerFromEnvironment(),
    },
    (candidate) =>
      candidate.revocationId === revocationId || isRefusalNaming(candidate, `revocation "${revocationId}": `),
    `revocation ${revocationId}`,
  );
  console.log(summarizeRevocation(result));
  return result.status === 'revoked' ? 0 : 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`revoke: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

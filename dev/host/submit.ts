/**
 * `npm run submit -- <request.json> [--recipient-key <key.pem>] [--save-result <file>] [--timeout <s>]`: puts
 * a request on the request queue, waits for its result and prints a summary (--save-result also writes the
 * result message); with the recipient's private key it decrypts the PFX password and opens the PFX. Storage is the local stack's (`npm start`), or AzureWebJobsStorage as the
 * app reads it: a connection string, or AzureWebJobsStorage__accountName with your `az login`.
 * Placeholders: "@dev-ca" / "@dev-recipient" (the local stack's CA and recipient), "@file:<path>" (a file's
 * text, e.g. the recipient certificate PEM, relative to the request file), "@new" (a fresh requestId).
 * With KEY_VAULT_URL and REQUEST_SIGNING_SECRET_NAME set, the request is signed with the current version of
 * that secret (README "Request signing"), read with DefaultAzureCredential (your `az login`).
 */
import { randomUUID, privateDecrypt, constants, X509Certificate, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import type { QueueClient } from '@azure/storage-queue';
import type { FailedResult, PkcsResult } from '../../shared/contract/types';
import { signMessage } from '../../shared/guardrails/requestSignature';
import { KeyVaultSigningKeys } from '../../shared/request-signing/keyVaultSigningKeys';
import { createQueueServiceClient } from '../../shared/storage/clients';
import { readStorageConnection, type StorageConnection } from '../../shared/storage/connection';
import { readStack, type LocalStack } from './stack';

export interface SubmitOptions {
  /** A connection string (Azurite), or the connection as the app reads it (identity-based in Azure). */
  storage: StorageConnection | string;
  requestQueue: string;
  resultQueue: string;
  timeoutMs: number;
  /** Signs the message before it is sent (see signerFromEnvironment); absent: sent unsigned. */
  sign?: MessageSigner;
}

export type MessageSigner = (message: Record<string, unknown>) => Promise<Record<string, unknown>>;

/**
 * A signer when the environment names the signing secret (KEY_VAULT_URL and REQUEST_SIGNING_SECRET_NAME, as
 * the broker reads them), else undefined: messages go unsigned, as a broker without the setting accepts.
 */
export function signerFromEnvironment(env: NodeJS.ProcessEnv = process.env): MessageSigner | undefined {
  const vaultUrl = env.KEY_VAULT_URL?.trim();
  const secretName = env.REQUEST_SIGNING_SECRET_NAME?.trim();
  if (!vaultUrl || !secretName) return undefined;
  const keys = new KeyVaultSigningKeys({ vaultUrl, secretName });
  return async (message) => signMessage(message, await keys.key(undefined), new Date());
}

const FILE_PLACEHOLDER = '@file:';

/**
 * Fills the placeholders; a missing or "@new" requestId gets a fresh one. "@file:" paths are read relative to
 * `baseDir` (the request file's folder).
 */
export function prepareRequest(
  request: Record<string, unknown>,
  stack: LocalStack | undefined,
  baseDir: string = process.cwd(),
): Record<string, unknown> {
  const prepared = { ...request };
  for (const [field, value] of Object.entries(prepared)) {
    if (typeof value === 'string' && value.startsWith(FILE_PLACEHOLDER)) {
      const file = path.resolve(baseDir, value.slice(FILE_PLACEHOLDER.length));
      try {
        prepared[field] = readFileSync(file, 'utf8');
      } catch (error) {
        throw new Error(`${field}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`);
      }
    }
  }
  if (prepared.requestId === undefined || prepared.requestId === '@new') prepared.requestId = randomUUID();
  if (prepared.certificateAuthority === '@dev-ca') {
    if (!stack) throw new Error('"@dev-ca" needs the local stack: run `npm start` first');
    prepared.certificateAuthority = stack.caHost;
  }
  if (prepared.recipientCertificate === '@dev-recipient') {
    if (!stack) throw new Error('"@dev-recipient" needs the local stack: run `npm start` first');
    prepared.recipientCertificate = readFileSync(stack.recipientCertificatePath, 'utf8');
  }
  return prepared;
}

export async function submitAndWait(
  request: Record<string, unknown>,
  options: SubmitOptions,
): Promise<PkcsResult> {
  const requestId = String(request.requestId);
  return sendAndWait<PkcsResult>(
    request,
    options,
    (result) => result.requestId === requestId || isRefusalNaming(result, `request "${requestId}": `),
    `request ${requestId}`,
  );
}

/**
 * A failed result the broker published without an id because the message was not shown to come from the
 * holder of the signing key (its error text starts with `request "<id>": ` or `revocation "<id>": `).
 */
export function isRefusalNaming(
  result: { status: string; error?: { message: string } } & (
    { requestId?: unknown } | { revocationId?: unknown }
  ),
  prefix: string,
): boolean {
  const id =
    'requestId' in result ? result.requestId : 'revocationId' in result ? result.revocationId : undefined;
  return id === null && result.status === 'failed' && result.error?.message.startsWith(prefix) === true;
}

/** Puts a message on `requestQueue` and takes the result `isOurs` recognises off `resultQueue`. */
export async function sendAndWait<T>(
  message: Record<string, unknown>,
  options: SubmitOptions,
  isOurs: (result: T) => boolean,
  description: string,
): Promise<T> {
  const storage: StorageConnection =
    typeof options.storage === 'string'
      ? { kind: 'connectionString', connectionString: options.storage }
      : options.storage;
  const service = createQueueServiceClient(storage);
  const requests = service.getQueueClient(options.requestQueue);
  const results = service.getQueueClient(options.resultQueue);
  await Promise.all([requests.createIfNotExists(), results.createIfNotExists()]);
  const sent = options.sign === undefined ? message : await options.sign(message);
  await requests.sendMessage(JSON.stringify(sent));
  return waitForResult<T>(results, isOurs, options.timeoutMs, description);
}

/** Takes the result we wait for off the result queue; other results are put straight back. */
export async function waitForResult<T = PkcsResult>(
  results: QueueClient,
  isOurs: (result: T) => boolean,
  timeoutMs: number,
  description = 'the request',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { receivedMessageItems } = await results.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 5,
    });
    for (const message of receivedMessageItems) {
      let parsed: T | undefined;
      try {
        parsed = JSON.parse(message.messageText) as T;
      } catch {
        parsed = undefined;
      }
      if (parsed !== undefined && isOurs(parsed)) {
        await results.deleteMessage(message.messageId, message.popReceipt);
        return parsed;
      }
      await results.updateMessage(message.messageId, message.popReceipt, undefined, 0);
    }
    if (receivedMessageItems.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `no result for ${description} within ${Math.round(timeoutMs / 1000)} s (is the host running?)`,
  );
}

/** The lines of a summary that tell a failed result's error. */
export function errorLines(error: FailedResult['error']): string[] {
  return [
    `  error:    ${error.code}${error.retryable ? ' (retryable)' : ''}`,
    `  message:  ${error.message}`,
    `  remedy:   ${error.remedy}`,
    ...(error.caMessage ? [`  CA said:  ${error.caMessage}`] : []),
  ];
}

/** Human summary of a result; opens the PFX when the recipient's private key is at hand. */
export function summarize(result: PkcsResult, recipientKeyPem?: string): string {
  const lines = [
    `request ${result.requestId ?? '(unreadable)'}: ${result.status.toUpperCase()} at ${result.completedAt}`,
  ];
  if (result.status === 'failed') return [...lines, ...errorLines(result.error)].join('\n');
  const { certificate, pfx } = result;
  const leaf = new X509Certificate(certificate.pem);
  lines.push(`  subject:  ${certificate.subject}`);
  lines.push(`  SAN:      ${leaf.subjectAltName ?? '(none)'}`);
  lines.push(`  issuer:   ${certificate.issuer}`);
  lines.push(`  serial:   ${certificate.serialNumber}`);
  lines.push(`  SHA-1:    ${certificate.thumbprint}`);
  lines.push(`  valid:    ${certificate.notBefore} → ${certificate.notAfter}`);
  lines.push(`  chain:    ${certificate.chainPem.length} CA certificate(s)`);
  lines.push(
    `  PFX:      ${Buffer.from(pfx.data, 'base64').length} bytes, password ${pfx.password.algorithm} to recipient ${pfx.password.recipientThumbprint}`,
  );
  if (recipientKeyPem) {
    const password = privateDecrypt(
      { key: recipientKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from(pfx.password.encryptedValue, 'base64'),
    ).toString('utf8');
    // Opening it as a TLS identity proves password, key and certificate belong together.
    createSecureContext({ pfx: Buffer.from(pfx.data, 'base64'), passphrase: password });
    lines.push(
      '  opened:   password decrypted with the recipient key; the PFX opens and its key matches the certificate',
    );
  }
  return lines.join('\n');
}

/** The value after `--name`, or undefined; an error when the flag is there without a value. */
export function flagValue(argv: string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  if (index < 0) return undefined;
  const value = argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

export class UsageError extends Error {}

const USAGE =
  'usage: npm run submit -- <request.json> [--recipient-key <recipient-key.pem>] [--save-result <result.json>] [--timeout <seconds>]';

/** True when the private key belongs to the recipient certificate (so the PFX password can be decrypted). */
export function keyMatchesCertificate(privateKeyPem: string, certificatePem: string): boolean {
  const fromKey = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  const fromCertificate = new X509Certificate(certificatePem).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  return fromKey.equals(fromCertificate);
}

async function main(argv: string[]): Promise<number> {
  let timeoutSeconds: number;
  let recipientKeyFile: string | undefined;
  let saveResultFile: string | undefined;
  let file: string | undefined;
  try {
    const flags = new Set(['--timeout', '--recipient-key', '--save-result']);
    file = argv.find((arg, index) => !arg.startsWith('--') && !flags.has(argv[index - 1] ?? ''));
    if (!file) throw new UsageError('no request file');
    timeoutSeconds = Number(flagValue(argv, '--timeout') ?? 120);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
      throw new UsageError('--timeout takes a number of seconds, e.g. --timeout 60');
    recipientKeyFile = flagValue(argv, '--recipient-key');
    saveResultFile = flagValue(argv, '--save-result');
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`submit: ${error.message}\n${USAGE}`);
    return 64;
  }
  const stack = readStack();
  const storage = readStorageConnection(process.env) ?? stack?.connectionString;
  if (storage === undefined) {
    console.error(
      'submit: no local stack is running and AzureWebJobsStorage is not set: run `npm start` first, or set AzureWebJobsStorage__accountName=<storage account> (with `az login`) or AzureWebJobsStorage=<connection string>',
    );
    return 64;
  }
  const request = prepareRequest(
    JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>,
    stack,
    path.dirname(path.resolve(file)),
  );
  const usesDevRecipient =
    stack !== undefined &&
    request.recipientCertificate === readFileSync(stack.recipientCertificatePath, 'utf8');
  const recipientKey =
    recipientKeyFile !== undefined
      ? readFileSync(recipientKeyFile, 'utf8')
      : usesDevRecipient
        ? readFileSync(stack.recipientKeyPath, 'utf8')
        : undefined;
  // Checked before the request is sent: a wrong key would only show after a certificate was issued.
  if (
    recipientKey !== undefined &&
    typeof request.recipientCertificate === 'string' &&
    !keyMatchesCertificate(recipientKey, request.recipientCertificate)
  ) {
    console.error(
      `submit: ${recipientKeyFile ?? 'the recipient key'} is not the private key of the request's recipientCertificate: nothing was sent`,
    );
    return 64;
  }
  const result = await submitAndWait(request, {
    storage,
    requestQueue: process.env.PKCS_REQUEST_QUEUE ?? stack?.requestQueue ?? 'pkcs-requests',
    resultQueue: process.env.PKCS_RESULT_QUEUE ?? stack?.resultQueue ?? 'pkcs-results',
    timeoutMs: timeoutSeconds * 1000,
    sign: signerFromEnvironment(),
  });
  if (saveResultFile !== undefined) {
    // The result message as published (PFX and password both still encrypted), for openssl or a delivery test.
    writeFileSync(saveResultFile, JSON.stringify(result, null, 2) + '\n', { mode: 0o600 });
  }
  console.log(summarize(result, recipientKey));
  return result.status === 'issued' ? 0 : 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`submit: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

/**
 * `npm run submit -- <request.json>`: puts a request on the queue, waits for its result and prints a
 * summary. Against the local stack (`npm start`), the placeholders "@dev-ca" (certificateAuthority) and
 * "@dev-recipient" (recipientCertificate) are filled in, and the PFX is opened with the dev recipient key.
 */
import { randomUUID, privateDecrypt, constants, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { QueueClient } from '@azure/storage-queue';
import type { PkcsResult } from '../../shared/contract/types';
import { readStack, type LocalStack } from './stack';

export interface SubmitOptions {
  connectionString: string;
  requestQueue: string;
  resultQueue: string;
  timeoutMs: number;
}

/** Fills the local placeholders; a missing or "@new" requestId gets a fresh one. */
export function prepareRequest(
  request: Record<string, unknown>,
  stack: LocalStack | undefined,
): Record<string, unknown> {
  const prepared = { ...request };
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
  const requests = new QueueClient(options.connectionString, options.requestQueue);
  const results = new QueueClient(options.connectionString, options.resultQueue);
  await Promise.all([requests.createIfNotExists(), results.createIfNotExists()]);
  await requests.sendMessage(JSON.stringify(request));
  const requestId = String(request.requestId);
  return waitForResult(
    results,
    (result) => result.requestId === requestId,
    options.timeoutMs,
    `request ${requestId}`,
  );
}

/** Takes the result we wait for off the result queue; other results are put straight back. */
export async function waitForResult(
  results: QueueClient,
  isOurs: (result: PkcsResult) => boolean,
  timeoutMs: number,
  description = 'the request',
): Promise<PkcsResult> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { receivedMessageItems } = await results.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 5,
    });
    for (const message of receivedMessageItems) {
      let parsed: PkcsResult | undefined;
      try {
        parsed = JSON.parse(message.messageText) as PkcsResult;
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

/** Human summary of a result; opens the PFX when the recipient's private key is at hand. */
export function summarize(result: PkcsResult, recipientKeyPem?: string): string {
  const lines = [
    `request ${result.requestId ?? '(unreadable)'}: ${result.status.toUpperCase()} at ${result.completedAt}`,
  ];
  if (result.status === 'failed') {
    lines.push(`  error:    ${result.error.code}${result.error.retryable ? ' (retryable)' : ''}`);
    lines.push(`  message:  ${result.error.message}`);
    lines.push(`  remedy:   ${result.error.remedy}`);
    if (result.error.caMessage) lines.push(`  CA said:  ${result.error.caMessage}`);
    return lines.join('\n');
  }
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
      '  opened:   password decrypted with the dev recipient key; the PFX opens and its key matches the certificate',
    );
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const file = argv.find((arg, index) => !arg.startsWith('--') && argv[index - 1] !== '--timeout');
  if (!file) {
    console.error('usage: npm run submit -- <request.json> [--timeout <seconds>]');
    return 64;
  }
  const timeoutIndex = argv.indexOf('--timeout');
  const timeoutSeconds = timeoutIndex >= 0 ? Number(argv[timeoutIndex + 1]) : 120;
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    console.error('submit: --timeout takes a number of seconds, e.g. --timeout 60');
    return 64;
  }
  const timeoutMs = timeoutSeconds * 1000;
  const stack = readStack();
  const connectionString = process.env.AzureWebJobsStorage ?? stack?.connectionString;
  if (!connectionString) {
    console.error(
      'submit: no local stack is running and AzureWebJobsStorage is not set: run `npm start` first (or set AzureWebJobsStorage)',
    );
    return 64;
  }
  const request = prepareRequest(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, stack);
  const result = await submitAndWait(request, {
    connectionString,
    requestQueue: process.env.PKCS_REQUEST_QUEUE ?? stack?.requestQueue ?? 'pkcs-requests',
    resultQueue: process.env.PKCS_RESULT_QUEUE ?? stack?.resultQueue ?? 'pkcs-results',
    timeoutMs,
  });
  const usesDevRecipient =
    stack !== undefined &&
    request.recipientCertificate === readFileSync(stack.recipientCertificatePath, 'utf8');
  console.log(summarize(result, usesDevRecipient ? readFileSync(stack.recipientKeyPath, 'utf8') : undefined));
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

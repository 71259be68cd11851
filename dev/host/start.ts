/**
 * `npm start`: the whole local stack on embedded defaults — Azurite, the PKI-WS simulator (mutual TLS),
 * the dev RA certificate and recipient, and the broker's functions on the queues (`npm run host` as a child
 * process, trusting the dev TLS root through NODE_EXTRA_CA_CERTS exactly as an operator would) — then
 * issues a certificate for a sample request and shows it. `--once` stops the stack after the sample.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDevPki } from '../pki/devPki';
import { startPkiWsSimulator } from '../simulator/server';
import { startAzurite } from './azurite';
import { launchHost, type LaunchedHost } from './hostLauncher';
import { localDir, repoRoot } from './paths';
import { removeStack, writeStack, type LocalStack } from './stack';
import { prepareRequest, submitAndWait, summarize } from './submit';

/**
 * MAX_CERTIFICATES_PER_SEAT_PER_DAY of the local stack, unless the environment sets it: the sample requests all
 * use one seat (IWUser0) and the simulator's seats cost nothing, so the production default of 10 would stop a
 * day of local trying. Set it (e.g. to 2) to see the guardrail refuse.
 */
const LOCAL_SEAT_LIMIT = '1000';

function portSetting(name: string): number {
  const value = Number(process.env[name] ?? 0);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number`);
  return value;
}

/** The host with its output relayed line by line, prefixed, into this terminal. */
function startHostProcess(env: NodeJS.ProcessEnv): LaunchedHost {
  return launchHost({
    env,
    onOutput: (_stream, text) => {
      for (const line of text.split('\n').filter(Boolean)) console.log(`  [host] ${line}`);
    },
  });
}

async function main(argv: string[]): Promise<number> {
  const once = argv.includes('--once');
  console.log('start: preparing the dev PKI in .local/pki (test CAs, RA certificate, recipient)…');
  const pki = await ensureDevPki(localDir('pki'));
  const azurite = await startAzurite({
    queuePort: portSetting('AZURITE_QUEUE_PORT'),
    tablePort: portSetting('AZURITE_TABLE_PORT'),
    blobPort: portSetting('AZURITE_BLOB_PORT'),
  });
  console.log(`start: Azurite queues at 127.0.0.1:${azurite.queuePort}`);
  const simulator = await startPkiWsSimulator({ pki, port: portSetting('SIMULATOR_PORT') });
  console.log(
    `start: DigiCert PKI-WS simulator at ${simulator.url}/pki-ws/ (mutual TLS, RA "${pki.ra.subject}")`,
  );

  const stack: LocalStack = {
    connectionString: azurite.connectionString,
    requestQueue: 'pkcs-requests',
    resultQueue: 'pkcs-results',
    caHost: simulator.authority,
    recipientCertificatePath: pki.recipient.certPath,
    recipientKeyPath: pki.recipient.keyPath,
  };
  writeStack(stack);

  const host = startHostProcess({
    ...process.env,
    AzureWebJobsStorage: azurite.connectionString,
    PKCS_REQUEST_QUEUE: stack.requestQueue,
    PKCS_RESULT_QUEUE: stack.resultQueue,
    RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
    RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
    RA_CERT_THUMBPRINT: pki.ra.thumbprint,
    CA_ALLOWED_HOSTS: simulator.authority,
    NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '5',
    MAX_CERTIFICATES_PER_SEAT_PER_DAY: process.env.MAX_CERTIFICATES_PER_SEAT_PER_DAY ?? LOCAL_SEAT_LIMIT,
  });

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await host.stop();
    await simulator.close();
    await azurite.stop();
    removeStack();
  };

  const samplePath = path.join(repoRoot(), 'dev', 'requests', 'user.json');
  console.log(`start: submitting the sample request ${path.relative(process.cwd(), samplePath)}…`);
  let exitCode = 0;
  try {
    const request = prepareRequest(
      JSON.parse(readFileSync(samplePath, 'utf8')) as Record<string, unknown>,
      stack,
    );
    const result = await submitAndWait(request, {
      ...stack,
      storage: stack.connectionString,
      timeoutMs: 120000,
    });
    console.log(summarize(result, readFileSync(stack.recipientKeyPath, 'utf8')));
    exitCode = result.status === 'issued' ? 0 : 2;
  } catch (error) {
    console.error(`start: the sample request did not complete: ${(error as Error).message}`);
    exitCode = 1;
  }

  if (once) {
    await stopAll();
    return exitCode;
  }
  console.log('\nstart: the stack is running. In another terminal: npm run submit -- dev/requests/user.json');
  console.log('start: press Ctrl+C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    host.child.once('exit', (code) => {
      console.error(`start: the host exited (code ${code}); stopping the stack`);
      resolve();
    });
  });
  await stopAll();
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

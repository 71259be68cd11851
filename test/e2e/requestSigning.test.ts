/**
 * Request signing end to end: the host as its own process with REQUEST_SIGNING_SECRET_NAME, its key a secret in
 * the Key Vault stand-in read with managed-identity tokens; `npm run submit` and `npm run revoke` (compiled,
 * their own processes) sign with the same secret as an upstream system would. An unsigned, forged or changed
 * message is refused with REQUEST_NOT_ALLOWED and leaves nothing behind: the real message with its id is
 * then issued or revoked as usual.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite, type RunningAzurite } from '../../dev/host/azurite';
import { submitAndWait } from '../../dev/host/submit';
import type { KeyVaultStandIn } from '../../dev/keyvault-standin/server';
import type { DevPki } from '../../dev/pki/devPki';
import type { Simulator } from '../../dev/simulator/server';
import type { FailedResult, PkcsResult } from '../../shared/contract/types';
import { signMessage, type SigningKey } from '../../shared/guardrails/requestSignature';
import { createRequestLedger } from '../../shared/ledger/tableLedger';
import { runNode } from '../support/childProcess';
import { startDevSimulator, type DevSimulator } from '../support/devSimulator';
import {
  COMPILED_HOST_DIR,
  devHostSettings,
  startHostProcess,
  type HostProcess,
} from '../support/hostProcess';
import { startKeyVaultStandInWithDevTls } from '../support/identityStack';
import { revokeThroughQueue } from '../support/revocationQueue';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const SECRET_NAME = 'request-signing';
const queues = {
  requestQueue: 'signing-e2e-requests',
  resultQueue: 'signing-e2e-results',
  revokeQueue: 'signing-e2e-revocations',
  revokeResultQueue: 'signing-e2e-revocation-results',
};

let devSimulator: DevSimulator;
let dir: string;
let pki: DevPki;
let simulator: Simulator;
let azurite: RunningAzurite;
let vault: KeyVaultStandIn;
let host: HostProcess;
let key: SigningKey;
let counter = 0;

function request(): Record<string, unknown> & { requestId: string } {
  counter += 1;
  const mail = `signed-${counter}@contoso.com`;
  return {
    schemaVersion: 1,
    requestId: `signing-e2e-${counter}-${Date.now()}`,
    certificateAuthority: simulator.authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: USER_PROFILE,
    subjectName: `CN=Signed User ${counter},E=${mail}`,
    subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
    recipientCertificate: pki.recipient.certPem,
  };
}

const send = (message: Record<string, unknown>): Promise<PkcsResult> =>
  submitAndWait(message, {
    storage: azurite.connectionString,
    requestQueue: queues.requestQueue,
    resultQueue: queues.resultQueue,
    timeoutMs: 60_000,
  });

function refusal(result: PkcsResult): FailedResult['error'] {
  if (result.status !== 'failed') throw new Error(`expected a refusal, got ${result.status}`);
  // Published under no id: whoever wrote it cannot put a result under a real requestId.
  expect(result.requestId).toBeNull();
  return result.error;
}

/** Runs a compiled CLI as an administrator would, signing with the secret through the managed identity. */
async function runCli(script: string, args: string[]): Promise<{ code: number; out: string }> {
  const run = await runNode([script, ...args], {
    cwd: dir,
    timeoutMs: 90_000,
    env: {
      ...vault.identityEnvironment,
      AzureWebJobsStorage: azurite.connectionString,
      PKCS_REQUEST_QUEUE: queues.requestQueue,
      PKCS_RESULT_QUEUE: queues.resultQueue,
      PKCS_REVOKE_QUEUE: queues.revokeQueue,
      PKCS_REVOKE_RESULT_QUEUE: queues.revokeResultQueue,
      KEY_VAULT_URL: vault.url,
      REQUEST_SIGNING_SECRET_NAME: SECRET_NAME,
      NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
    },
  });
  return { code: run.code, out: run.stdout + run.stderr };
}

beforeAll(async () => {
  devSimulator = await startDevSimulator('signing-e2e-');
  ({ dir, pki, simulator } = devSimulator);
  azurite = await startAzurite();
  vault = await startKeyVaultStandInWithDevTls(pki);
  const bytes = randomBytes(32);
  key = { keyId: vault.putSecret(SECRET_NAME, bytes.toString('base64')).version, key: bytes };
  host = startHostProcess({
    ...devHostSettings(pki, simulator.authority, queues),
    ...vault.identityEnvironment,
    AzureWebJobsStorage: azurite.connectionString,
    KEY_VAULT_URL: vault.url,
    REQUEST_SIGNING_SECRET_NAME: SECRET_NAME,
    NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '1',
  });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await vault?.close();
  await azurite?.stop();
  await devSimulator?.close();
});

describe('request signing through the host', () => {
  it('`npm run submit` signs with the Key Vault secret, and the host issues', async () => {
    const body = request();
    writeFileSync(path.join(dir, 'signed-request.json'), JSON.stringify(body));
    const { code, out } = await runCli(path.join(COMPILED_HOST_DIR, 'submit.js'), ['signed-request.json']);
    expect(out).toMatch(/ISSUED/);
    expect(code).toBe(0);
    // The host read the secret itself, with its own managed-identity token.
    expect(vault.requests.some((seen) => seen.name === SECRET_NAME && seen.status === 200)).toBe(true);
  });

  it('refuses unsigned, forged and changed requests without a trace; the real one is issued after', async () => {
    const body = request();
    const unsigned = refusal(await send(body));
    expect(unsigned.code).toBe('REQUEST_NOT_ALLOWED');
    expect(unsigned.message).toMatch(/^request "signing-e2e-[^"]+": the request is not signed/);
    const forged = refusal(await send(signMessage(body, { ...key, key: randomBytes(32) }, new Date())));
    expect(forged.message).toMatch(/": signature does not match the request/);
    const changed = {
      ...signMessage(body, key, new Date()),
      subjectName: 'CN=Mallory,E=mallory@contoso.com',
    };
    expect(refusal(await send(changed)).message).toMatch(/": signature does not match the request/);
    expect(await createRequestLedger(azurite.connectionString).get(body.requestId)).toBeUndefined();
    expect(simulator.issued.filter((issued) => issued.subject?.includes('Mallory') === true)).toEqual([]);

    const issued = await send(signMessage(body, key, new Date()));
    expect(issued.status).toBe('issued');
  });

  it('revokes only when the revocation is signed: `npm run revoke` signs', async () => {
    const issued = await send(signMessage(request(), key, new Date()));
    if (issued.status !== 'issued') throw new Error('not issued');
    const serialNumber = issued.certificate.serialNumber;
    const unsigned = await revokeThroughQueue(
      { storage: azurite.connectionString, ...queues },
      { revocationId: `unsigned-${Date.now()}`, certificateAuthority: simulator.authority, serialNumber },
    );
    expect(unsigned.status === 'failed' && unsigned.error.code).toBe('REQUEST_NOT_ALLOWED');
    expect(unsigned.revocationId).toBeNull();
    const status = () => simulator.issued.find((each) => each.serialNumber === serialNumber)?.status;
    expect(status()).toBe('VALID');

    const { code, out } = await runCli(path.join(COMPILED_HOST_DIR, '..', '..', 'cli', 'revoke.js'), [
      '--serial',
      serialNumber,
      '--ca',
      simulator.authority,
      '--reason',
      'KeyCompromise',
    ]);
    expect(out).toMatch(/REVOKED/);
    expect(code).toBe(0);
    expect(status()).toBe('REVOKED');
  });
});

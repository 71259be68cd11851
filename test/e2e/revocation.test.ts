/**
 * Revocation end to end, as an operator runs it: the host as its own process on Azurite against the PKI-WS
 * simulator. Each case puts a message on the revocation queue, takes its result off the revocation result
 * queue, and checks the CA's state afterwards; supersede goes through the request queue and then the
 * revocation queue on its own.
 */
import { RecordingTelemetry } from '../support/recordingTelemetry';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../dev/host/azurite';
import { submitAndWait, waitForResult } from '../../dev/host/submit';
import type { DevPki } from '../../dev/pki/devPki';
import type { Simulator } from '../../dev/simulator/server';
import type { IssuedResult, RevocationResult } from '../../shared/contract/types';
import { validateRevocationResult } from '../../shared/contract/validateRevocation';
import { readSettings } from '../../shared/config/settings';
import { createRevocationLedger } from '../../shared/ledger/revocationLedger';
import { createRequestLedger } from '../../shared/ledger/tableLedger';
import { RevocationPipeline } from '../../shared/revocation/revocationPipeline';
import { devCaClient, startDevSimulator, type DevSimulator } from '../support/devSimulator';
import { devHostSettings, startHostProcess, type HostProcess } from '../support/hostProcess';
import { revokeThroughQueue } from '../support/revocationQueue';
import { describeWithTeamShared } from '../support/teamShared';
import { validateReceivedBodies } from '../support/xsd';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const queues = {
  requestQueue: 'revoke-e2e-requests',
  resultQueue: 'revoke-e2e-results',
  revokeQueue: 'revoke-e2e-revocations',
  revokeResultQueue: 'revoke-e2e-revocation-results',
};

let devSimulator: DevSimulator;
let pki: DevPki;
let azurite: RunningAzurite;
let simulator: Simulator;
let host: HostProcess;
let counter = 0;

async function issue(
  overrides: Record<string, unknown> = {},
  mail = `revoke-${counter + 1}-${Date.now()}@contoso.com`,
): Promise<IssuedResult> {
  counter += 1;
  const result = await submitAndWait(
    {
      schemaVersion: 1,
      requestId: `revoke-e2e-${counter}-${Date.now()}`,
      certificateAuthority: simulator.authority,
      certificateAuthorityName: 'Symantec',
      certificateTemplateName: USER_PROFILE,
      subjectName: `CN=Revoke User ${counter},E=${mail}`,
      subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
      recipientCertificate: pki.recipient.certPem,
      ...overrides,
    },
    { storage: azurite.connectionString, ...queues, timeoutMs: 60_000 },
  );
  if (result.status !== 'issued') throw new Error(`not issued: ${JSON.stringify(result)}`);
  return result;
}

async function revoke(message: Record<string, unknown>): Promise<RevocationResult> {
  const result = await revokeThroughQueue({ storage: azurite.connectionString, ...queues }, message);
  expect(validateRevocationResult(result)).toEqual({ valid: true });
  return result;
}

function caStatus(serialNumber: string): { status: string; reason?: string } | undefined {
  const certificate = simulator.issued.find((candidate) => candidate.serialNumber === serialNumber);
  return certificate && { status: certificate.status, reason: certificate.revocationReason };
}

beforeAll(async () => {
  devSimulator = await startDevSimulator('revoke-e2e-');
  ({ pki, simulator } = devSimulator);
  azurite = await startAzurite();
  host = startHostProcess({
    ...devHostSettings(pki, simulator.authority, queues),
    AzureWebJobsStorage: azurite.connectionString,
    CA_MAX_ATTEMPTS: '1',
    QUEUE_MAX_DEQUEUE_COUNT: '2',
    // No waiting beyond the queue's deliveries here, so GAVE_UP is reached (waiting: the pipeline tests).
    REQUEST_MAX_WAIT_MINUTES: '0',
    CA_RETRY_BASE_DELAY_MS: '50',
    NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '1',
  });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  await devSimulator?.close();
});

describe('revocation through the host', () => {
  it('by serial number (written with colons, lower case): REVOKED at the CA with the reason', async () => {
    const issued = await issue();
    const serial = issued.certificate.serialNumber;
    const written = serial.toLowerCase().replace(/(..)(?=.)/g, '$1:');
    const result = await revoke({
      revocationId: `by-serial-${Date.now()}`,
      certificateAuthority: simulator.authority,
      serialNumber: written,
      reason: 'CessationOfOperation',
      comment: 'device retired in Intune',
      context: { deviceId: 'd-1' },
    });
    expect(result).toMatchObject({
      status: 'revoked',
      serialNumber: serial,
      reason: 'CessationOfOperation',
      alreadyRevoked: false,
      context: { deviceId: 'd-1' },
    });
    expect(caStatus(serial)).toEqual({ status: 'REVOKED', reason: 'CessationOfOperation' });
  });

  it('by requestId: the serial comes from the ledger, and the issuance record shows the revocation', async () => {
    const issued = await issue();
    const revocationId = `by-request-${Date.now()}`;
    const result = await revoke({ revocationId, requestId: issued.requestId, reason: 'KeyCompromise' });
    expect(result).toMatchObject({
      status: 'revoked',
      serialNumber: issued.certificate.serialNumber,
      requestId: issued.requestId,
      alreadyRevoked: false,
    });
    expect(caStatus(issued.certificate.serialNumber)).toEqual({ status: 'REVOKED', reason: 'KeyCompromise' });
    const record = await createRequestLedger(azurite.connectionString).get(String(issued.requestId));
    expect(record?.revocation).toMatchObject({
      revocationId,
      reason: 'KeyCompromise',
      alreadyRevoked: false,
    });
    expect(record?.events.join('\n')).toMatch(/revoked \(KeyCompromise\) by revocation/);
  });

  it('a certificate revoked before: revoked with alreadyRevoked true, the CA unchanged', async () => {
    const issued = await issue();
    const serial = issued.certificate.serialNumber;
    await revoke({ revocationId: `first-${Date.now()}`, requestId: issued.requestId, reason: 'Superseded' });
    const again = await revoke({
      revocationId: `second-${Date.now()}`,
      certificateAuthority: simulator.authority,
      serialNumber: serial,
      reason: 'KeyCompromise',
    });
    expect(again).toMatchObject({ status: 'revoked', alreadyRevoked: true });
    expect(caStatus(serial)).toEqual({ status: 'REVOKED', reason: 'Superseded' });
  });

  it('an unknown serial, and a requestId without a certificate: CERTIFICATE_NOT_FOUND', async () => {
    const unknown = await revoke({
      revocationId: `unknown-serial-${Date.now()}`,
      certificateAuthority: simulator.authority,
      serialNumber: '0BADC0FFEE',
    });
    expect(unknown).toMatchObject({
      status: 'failed',
      error: { code: 'CERTIFICATE_NOT_FOUND', retryable: false },
    });
    expect(unknown.status === 'failed' && unknown.error.message).toContain('BADC0FFEE');
    const noCertificate = await revoke({
      revocationId: `unknown-request-${Date.now()}`,
      requestId: 'never-issued',
    });
    expect(noCertificate).toMatchObject({ status: 'failed', error: { code: 'CERTIFICATE_NOT_FOUND' } });
  });

  it('the same revocationId again: the stored result byte for byte, no second call to the CA', async () => {
    const issued = await issue();
    const message = { schemaVersion: 1, revocationId: `repeat-${Date.now()}`, requestId: issued.requestId };
    const results = new QueueClient(azurite.connectionString, queues.revokeResultQueue);
    const revocations = new QueueClient(azurite.connectionString, queues.revokeQueue);
    await revocations.sendMessage(JSON.stringify(message));
    const first = await waitForRaw(results, message.revocationId);
    const updatesBefore = simulator.stats().requests.certificateManagementService;
    await revocations.sendMessage(JSON.stringify(message));
    const second = await waitForRaw(results, message.revocationId);
    expect(second).toBe(first);
    expect(simulator.stats().requests.certificateManagementService).toBe(updatesBefore);
  });

  it('a CA that stays unreachable through every delivery: GAVE_UP with the cause, the certificate still VALID', async () => {
    const issued = await issue();
    for (let i = 0; i < 4; i += 1)
      simulator.faults.enqueue({ kind: 'http', status: 503, service: 'certificateManagementService' });
    const result = await revoke({ revocationId: `poison-${Date.now()}`, requestId: issued.requestId });
    expect(result).toMatchObject({ status: 'failed', error: { code: 'GAVE_UP' } });
    expect(result.status === 'failed' && result.error.message).toContain('CA_UNAVAILABLE');
    expect(caStatus(issued.certificate.serialNumber)?.status).toBe('VALID');
    simulator.faults.clear();
  });

  it('a message on the poison queue: the stored result if it has one, else GAVE_UP carrying the last error', async () => {
    const poison = new QueueClient(azurite.connectionString, `${queues.revokeQueue}-poison`);
    await poison.createIfNotExists();
    const issued = await issue();
    // Delivery 1 meets a 503 (recorded in the ledger); then the host gives the message up (a crash, say).
    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'certificateManagementService' });
    const revocationId = `poisoned-${Date.now()}`;
    const message = {
      schemaVersion: 1,
      revocationId,
      requestId: issued.requestId,
      context: { deviceId: 'p-1' },
    };
    // Delivery 1 of 2, run in this process on the same ledger, as the host would have run it.
    const settings = readSettings({
      CA_ALLOWED_HOSTS: simulator.authority,
      CA_MAX_ATTEMPTS: '1',
      QUEUE_MAX_DEQUEUE_COUNT: '2',
    });
    const pipeline = new RevocationPipeline({
      settings,
      ca: devCaClient(pki, settings),
      requests: createRequestLedger(azurite.connectionString),
      revocations: createRevocationLedger(azurite.connectionString),
      telemetry: new RecordingTelemetry(),
    });
    expect(await pipeline.process(message, { dequeueCount: 1 })).toMatchObject({
      kind: 'retry',
      error: { code: 'CA_UNAVAILABLE' },
    });
    await poison.sendMessage(JSON.stringify(message));
    const results = new QueueClient(azurite.connectionString, queues.revokeResultQueue);
    const result = await waitForResult<RevocationResult>(
      results,
      (r) => r.revocationId === revocationId,
      60_000,
    );
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'GAVE_UP' },
      context: { deviceId: 'p-1' },
    });
    expect(result.status === 'failed' && result.error.message).toMatch(
      /poison queue; the last error was CA_UNAVAILABLE/,
    );

    // A revocation that has its result: the poison queue publishes that result again.
    const done = await revoke({ revocationId: `done-${Date.now()}`, requestId: (await issue()).requestId });
    await poison.sendMessage(
      JSON.stringify({
        schemaVersion: 1,
        revocationId: done.revocationId,
        requestId: done.status === 'revoked' ? done.requestId : '',
      }),
    );
    const replayed = await waitForResult<RevocationResult>(
      results,
      (r) => r.revocationId === done.revocationId,
      60_000,
    );
    expect(replayed).toEqual(done);
  });

  it('supersede: the new certificate VALID, the old one REVOKED (Superseded), reported on the revocation results', async () => {
    const mail = `renewal-${Date.now()}@contoso.com`;
    const old = await issue({}, mail);
    // The same user (the same seat) renews: only a certificate of its own seat may be superseded.
    const renewal = await issue({ supersedes: old.certificate.serialNumber }, mail);
    expect(renewal.certificate.supersededSerialNumber).toBe(old.certificate.serialNumber);
    const results = new QueueClient(azurite.connectionString, queues.revokeResultQueue);
    const revocation = await waitForResult<RevocationResult>(
      results,
      (candidate) => candidate.revocationId === `${renewal.requestId}/supersede`,
      60_000,
    );
    expect(revocation).toMatchObject({
      status: 'revoked',
      serialNumber: old.certificate.serialNumber,
      reason: 'Superseded',
      alreadyRevoked: false,
    });
    expect(caStatus(old.certificate.serialNumber)).toEqual({ status: 'REVOKED', reason: 'Superseded' });
    expect(caStatus(renewal.certificate.serialNumber)?.status).toBe('VALID');
  });
});

describeWithTeamShared('revocation wire format seen by the CA', () => {
  it('every SOAP body (searches by serial number, Revokes) validates against the vendor XSD', () => {
    const management = simulator.received.filter(
      (request) => request.service === 'certificateManagementService',
    );
    expect(management.some((request) => request.body.includes('updateCertificateStatusRequest'))).toBe(true);
    expect(management.some((request) => /<[^>]*serialNumber>/.test(request.body))).toBe(true);
    for (const check of validateReceivedBodies(management)) expect(check).toMatchObject({ valid: true });
  });
});

/** The raw text of the result for `revocationId` (to compare repeats byte for byte). */
async function waitForRaw(results: QueueClient, revocationId: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { receivedMessageItems } = await results.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 5,
    });
    for (const item of receivedMessageItems) {
      if ((JSON.parse(item.messageText) as RevocationResult).revocationId === revocationId) {
        await results.deleteMessage(item.messageId, item.popReceipt);
        return item.messageText;
      }
      await results.updateMessage(item.messageId, item.popReceipt, undefined, 0);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no revocation result for ${revocationId}`);
}

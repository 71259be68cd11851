/**
 * The real Application Insights SDK, pointed at a local ingestion stand-in, while the pipeline handles one
 * issued and one failed request against the PKI-WS simulator (mutual TLS) and the Azurite ledger: asserts on
 * the envelopes that arrive — traces, CA dependencies, metrics, one operation id per request — and that no
 * arrived byte holds a secret or a clear-text e-mail address or UPN.
 */
import { constants, privateDecrypt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import { ensureDevPki, type DevPki } from '../../../dev/pki/devPki';
import { startPkiWsSimulator, type Simulator } from '../../../dev/simulator/server';
import { readSettings } from '../../../shared/config/settings';
import type { IssuedResult, PkcsResult } from '../../../shared/contract/types';
import { PkiWsClient } from '../../../shared/digicert';
import { createRequestLedger } from '../../../shared/ledger/tableLedger';
import { CertificatePipeline } from '../../../shared/issuance/pipeline';
import { createQueueServiceClient } from '../../../shared/storage/clients';
import { reportQueueLengths } from '../../../shared/telemetry/queueLength';
import { CachedRaCredentialSource, FileRaCredentialSource } from '../../../shared/ra-credential';
import { createTelemetry, pseudonymize } from '../../../shared/telemetry/applicationInsights';
import { operationIdOf } from '../../../shared/telemetry/correlation';
import { caCallObserver, observeRaCredential } from '../../../shared/telemetry/observers';
import type { Telemetry } from '../../../shared/telemetry/telemetry';
import { startIngestionStandIn, type Envelope, type IngestionStandIn } from '../../support/ingestion';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const UNKNOWN_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.99999999';
const EMAIL = 'IWUser0@contoso.onmicrosoft.com';
const UPN = 'IWUser0.upn@contoso.onmicrosoft.com';
const ISSUED_ID = '6f1c2c3e-1d7a-4a55-9d7f-2f0e9b9e7a10';
const FAILED_ID = 'telemetry-failed-1';

let dir: string;
let pki: DevPki;
let simulator: Simulator;
let azurite: RunningAzurite;
let ingestion: IngestionStandIn;
let telemetry: Telemetry;
let issued: IssuedResult;
let failedResult: PkcsResult;
const queuedAt = new Date(Date.now() - 4_000);

function request(requestId: string, profileOid: string): Record<string, unknown> {
  return {
    schemaVersion: 1,
    requestId,
    certificateAuthority: simulator.authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: profileOid,
    subjectName: `CN=IWUser0,E=${EMAIL}`,
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: EMAIL },
      { type: 'AltNameTypeUpn', value: UPN },
    ],
    recipientCertificate: pki.recipient.certPem,
  };
}

const ofType = (baseType: string): Envelope[] =>
  ingestion.envelopes.filter((envelope) => envelope.data?.baseType === baseType);
const propertiesOf = (envelope: Envelope): Record<string, string> =>
  (envelope.data?.baseData?.properties ?? {}) as Record<string, string>;
const itemsOf = (requestId: string): Envelope[] =>
  ingestion.envelopes.filter((envelope) => propertiesOf(envelope).requestId === requestId);
const metricsNamed = (name: string): Record<string, unknown>[] =>
  ofType('MetricData').flatMap((envelope) =>
    ((envelope.data?.baseData?.metrics ?? []) as Record<string, unknown>[])
      .filter((metric) => metric.name === name)
      .map((metric) => ({ ...metric, properties: propertiesOf(envelope) })),
  );

/** Breeze durations are [d.]hh:mm:ss.fff */
function timeSpanMs(text: string): number {
  const match = /^(?:(\d+)\.)?(\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(text);
  if (match === null) throw new Error(`not a time span: ${text}`);
  const [, days, hours, minutes, seconds, millis] = match.map((part) => Number(part ?? 0));
  return (((days! * 24 + hours!) * 60 + minutes!) * 60 + seconds!) * 1000 + millis!;
}

beforeAll(async () => {
  // Statsbeat (the SDK's own usage reports to Microsoft) is network the tests must not make.
  process.env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = 'true';
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';
  dir = mkdtempSync(path.join(os.tmpdir(), 'telemetry-'));
  [pki, ingestion, azurite] = await Promise.all([
    ensureDevPki(path.join(dir, 'pki')),
    startIngestionStandIn(),
    startAzurite(),
  ]);
  simulator = await startPkiWsSimulator({ pki });
  telemetry = createTelemetry({
    connectionString: ingestion.connectionString,
    includePersonalData: false,
    offlineStorage: false,
    trustedCaPemForTests: ingestion.caPem,
  });
  const settings = readSettings({
    CA_ALLOWED_HOSTS: simulator.authority,
    CA_CONNECT_TIMEOUT_MS: '2000',
    CA_REQUEST_TIMEOUT_MS: '1500',
    CA_MAX_ATTEMPTS: '1',
  });
  // As in the broker: observed in front of the cache, so each load (not each cache hit) is reported.
  const credential = observeRaCredential(
    new CachedRaCredentialSource({
      source: new FileRaCredentialSource({ pfxFile: pki.ra.pfxPath, password: pki.ra.pfxPassword }),
      ttlMs: 60_000,
    }),
    telemetry,
  );
  const ca = new PkiWsClient({
    settings,
    credential,
    extraTrustedCaPem: [pki.tlsRootCa.certPem],
    onCall: caCallObserver(telemetry),
  });
  const pipeline = new CertificatePipeline({
    settings,
    ca,
    ledger: createRequestLedger(azurite.connectionString),
    telemetry,
  });
  const first = await pipeline.process(request(ISSUED_ID, USER_PROFILE), {
    dequeueCount: 1,
    insertedAt: queuedAt,
  });
  const second = await pipeline.process(request(FAILED_ID, UNKNOWN_PROFILE), { dequeueCount: 1 });
  if (first.kind !== 'result' || first.result.status !== 'issued')
    throw new Error('expected an issued result');
  if (second.kind !== 'result') throw new Error('expected a failed result');
  issued = first.result;
  failedResult = second.result;
  await telemetry.flush();
  await ca.close();
}, 60_000);

afterAll(async () => {
  await Promise.all([simulator?.close(), azurite?.stop(), ingestion?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('telemetry through the real SDK', () => {
  it('sends to the ingestion endpoint only', () => {
    expect(ingestion.otherRequests).toEqual([]);
    expect(ingestion.envelopes.length).toBeGreaterThan(0);
    expect(failedResult.status).toBe('failed');
  });

  it('sends one trace per request with outcome, error code and the hashed identity', () => {
    const traces = ofType('MessageData');
    const issuedTrace = traces.find((trace) => propertiesOf(trace).requestId === ISSUED_ID);
    const failedTrace = traces.find((trace) => propertiesOf(trace).requestId === FAILED_ID);
    expect(propertiesOf(issuedTrace!)).toMatchObject({
      outcome: 'issued',
      profileOid: USER_PROFILE,
      certificateSerial: issued.certificate.serialNumber,
      subjectIdentity: pseudonymize(EMAIL),
    });
    expect(propertiesOf(failedTrace!)).toMatchObject({
      outcome: 'failed',
      errorCode: 'PROFILE_NOT_FOUND',
      profileOid: UNKNOWN_PROFILE,
    });
    expect(failedTrace!.data?.baseData?.message).toContain('PROFILE_NOT_FOUND');
  });

  it('sends every CA call as a dependency with operation, duration and outcome', () => {
    const dependencies = ofType('RemoteDependencyData').map((envelope) => ({
      requestId: propertiesOf(envelope).requestId,
      name: envelope.data?.baseData?.name,
      type: envelope.data?.baseData?.type,
      system: propertiesOf(envelope).system,
      target: envelope.data?.baseData?.target,
      success: envelope.data?.baseData?.success,
      resultCode: envelope.data?.baseData?.resultCode,
      duration: String(envelope.data?.baseData?.duration),
    }));
    const issuedCalls = dependencies.filter((dependency) => dependency.requestId === ISSUED_ID);
    expect(issuedCalls.map((call) => call.name)).toEqual(['getPolicies', 'requestSecurityToken']);
    for (const call of issuedCalls) {
      expect(call).toMatchObject({
        type: 'Http',
        system: 'PKI-WS',
        target: simulator.authority,
        success: true,
        resultCode: '200',
      });
      expect(timeSpanMs(call.duration)).toBeGreaterThan(0);
      expect(timeSpanMs(call.duration)).toBeLessThan(10_000);
    }
    expect(dependencies.filter((dependency) => dependency.requestId === FAILED_ID)).toEqual([
      expect.objectContaining({ name: 'getPolicies', success: false, resultCode: 'PROFILE_NOT_FOUND' }),
    ]);
  });

  it('gives every item of a request the same operation id, derived from the requestId', () => {
    const issuedItems = itemsOf(ISSUED_ID);
    const failedItems = itemsOf(FAILED_ID);
    expect(issuedItems.length).toBeGreaterThanOrEqual(3);
    expect(failedItems.length).toBeGreaterThanOrEqual(2);
    expect(new Set(issuedItems.map((item) => item.tags?.['ai.operation.id']))).toEqual(
      new Set([ISSUED_ID.replace(/-/g, '')]),
    );
    expect(new Set(failedItems.map((item) => item.tags?.['ai.operation.id']))).toEqual(
      new Set([operationIdOf(FAILED_ID)]),
    );
    expect(operationIdOf(FAILED_ID)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('sends the metrics issued, failures by error code, CA latency, queue wait and RA days to expiry', () => {
    expect(metricsNamed('pkcs.issued')).toEqual([
      expect.objectContaining({ value: 1, count: 1, properties: { profileOid: USER_PROFILE } }),
    ]);
    expect(metricsNamed('pkcs.failures')).toEqual([
      expect.objectContaining({
        value: 1,
        properties: { profileOid: UNKNOWN_PROFILE, errorCode: 'PROFILE_NOT_FOUND' },
      }),
    ]);
    const latency = metricsNamed('pkcs.caLatencyMs');
    expect(latency.map((metric) => metric.properties)).toEqual(
      expect.arrayContaining([
        { operation: 'getPolicies', caHost: simulator.authority, success: 'true' },
        { operation: 'requestSecurityToken', caHost: simulator.authority, success: 'true' },
        { operation: 'getPolicies', caHost: simulator.authority, success: 'false' },
      ]),
    );
    const [queueWait] = metricsNamed('pkcs.queueWaitMs');
    expect(queueWait!.value as number).toBeGreaterThanOrEqual(4_000);
    const [daysToExpiry] = metricsNamed('pkcs.raCertificateDaysToExpiry');
    expect(daysToExpiry).toMatchObject({ count: 1, properties: { thumbprint: pki.ra.thumbprint } });
    const expected = Math.floor((pki.ra.notAfter.getTime() - Date.now()) / 86_400_000);
    expect(Math.abs((daysToExpiry!.value as number) - expected)).toBeLessThanOrEqual(1);
  });

  it('lets no secret and no clear-text e-mail address or UPN arrive', () => {
    const everything = ingestion.bodies.join('\n').toLowerCase();
    const pfxPassword = privateDecrypt(
      { key: pki.recipient.keyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from(issued.pfx.password.encryptedValue, 'base64'),
    ).toString('utf8');
    const raKeyBody = pki.ra.keyPem.split('\n')[3]!;
    const forbidden = [
      pfxPassword,
      issued.pfx.password.encryptedValue.slice(0, 40),
      issued.pfx.data.slice(100, 180),
      pki.ra.pfxPassword,
      raKeyBody,
      'PRIVATE KEY',
      '-----BEGIN',
      EMAIL,
      UPN,
      'contoso.onmicrosoft.com',
    ];
    for (const secret of forbidden) expect(everything).not.toContain(secret.toLowerCase());
    // …while the hashed identity did arrive.
    expect(everything).toContain(pseudonymize(EMAIL));
  });
});

describe('queue lengths (the reportQueueLength timer)', () => {
  it('sends pkcs.queueLength per queue, from the real queue counts, with no queue missing', async () => {
    const settings = readSettings({
      PKCS_REQUEST_QUEUE: 'length-requests',
      PKCS_RESULT_QUEUE: 'length-results',
      PKCS_REVOKE_QUEUE: 'length-revocations',
      PKCS_REVOKE_RESULT_QUEUE: 'length-revocation-results',
    });
    const storage = { kind: 'connectionString' as const, connectionString: azurite.connectionString };
    const queues = createQueueServiceClient(storage);
    const requests = queues.getQueueClient('length-requests');
    const poison = queues.getQueueClient('length-requests-poison');
    await Promise.all([requests.createIfNotExists(), poison.createIfNotExists()]);
    for (const text of ['a', 'b', 'c']) await requests.sendMessage(text);
    await poison.sendMessage('stuck');
    const revocationPoison = queues.getQueueClient('length-revocations-poison');
    await revocationPoison.createIfNotExists();
    await revocationPoison.sendMessage('stuck too');
    // length-results and the poison queue's poison queue do not exist: nothing waits there.

    const lengths = await reportQueueLengths(storage, settings, telemetry);
    await telemetry.flush();

    expect(lengths).toEqual([
      { queue: 'requests', queueName: 'length-requests', messages: 3 },
      { queue: 'poison', queueName: 'length-requests-poison', messages: 1 },
      { queue: 'poisonUnhandled', queueName: 'length-requests-poison-poison', messages: 0 },
      { queue: 'results', queueName: 'length-results', messages: 0 },
      { queue: 'revocations', queueName: 'length-revocations', messages: 0 },
      { queue: 'revocationPoison', queueName: 'length-revocations-poison', messages: 1 },
      { queue: 'revocationPoisonUnhandled', queueName: 'length-revocations-poison-poison', messages: 0 },
      { queue: 'revocationResults', queueName: 'length-revocation-results', messages: 0 },
    ]);
    const sent = metricsNamed('pkcs.queueLength').map((metric) => ({
      queue: (metric.properties as Record<string, string>).queue,
      value: metric.value,
    }));
    expect(sent).toEqual(
      expect.arrayContaining([
        { queue: 'requests', value: 3 },
        { queue: 'poison', value: 1 },
        { queue: 'poisonUnhandled', value: 0 },
        { queue: 'results', value: 0 },
        { queue: 'revocationPoison', value: 1 },
      ]),
    );
  });
});

describe('revocation telemetry', () => {
  it('sends a pkcs.revocation event and counts pkcs.revoked by reason, failures by error code', async () => {
    telemetry.trackRevocation?.({
      revocationId: 'telemetry-revoke-1',
      outcome: 'revoked',
      reason: 'KeyCompromise',
      alreadyRevoked: false,
      serialNumber: '4F2A09',
      durationMs: 12,
    });
    telemetry.trackRevocation?.({
      revocationId: 'telemetry-revoke-2',
      outcome: 'failed',
      errorCode: 'CERTIFICATE_NOT_FOUND',
      durationMs: 5,
    });
    await telemetry.flush();
    const events = ofType('EventData').filter(
      (envelope) => envelope.data?.baseData?.name === 'pkcs.revocation',
    );
    expect(events.map(propertiesOf)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          revocationId: 'telemetry-revoke-1',
          outcome: 'revoked',
          reason: 'KeyCompromise',
        }),
        expect.objectContaining({ revocationId: 'telemetry-revoke-2', errorCode: 'CERTIFICATE_NOT_FOUND' }),
      ]),
    );
    expect(metricsNamed('pkcs.revoked').map((metric) => metric.properties)).toContainEqual(
      expect.objectContaining({ reason: 'KeyCompromise', alreadyRevoked: 'false' }),
    );
    expect(metricsNamed('pkcs.revocationFailures').map((metric) => metric.properties)).toContainEqual(
      expect.objectContaining({ errorCode: 'CERTIFICATE_NOT_FOUND' }),
    );
  });
});

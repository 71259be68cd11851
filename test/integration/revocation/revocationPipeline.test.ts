/**
 * The revocation pipeline in-process against the real parts (Azurite ledger, the PKI-WS simulator over mutual
 * TLS): the endings the end-to-end suite cannot reach quickly — an outage waited out beyond the queue's
 * deliveries, and a Revoke whose answer was lost on the last delivery.
 */
import { RecordingTelemetry } from '../../support/recordingTelemetry';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import type { DevPki } from '../../../dev/pki/devPki';
import type { Simulator } from '../../../dev/simulator/server';
import { readSettings } from '../../../shared/config/settings';
import { createRevocationLedger } from '../../../shared/ledger/revocationLedger';
import { createRequestLedger } from '../../../shared/ledger/tableLedger';
import { CertificatePipeline } from '../../../shared/issuance/pipeline';
import { RevocationPipeline } from '../../../shared/revocation/revocationPipeline';
import { devCaClient, startDevSimulator, type DevSimulator } from '../../support/devSimulator';

let devSimulator: DevSimulator;
let pki: DevPki;
let simulator: Simulator;
let azurite: RunningAzurite;
let counter = 0;

function pipeline(extra: Record<string, string> = {}, now?: () => Date): RevocationPipeline {
  const settings = readSettings({
    CA_ALLOWED_HOSTS: simulator.authority,
    CA_MAX_ATTEMPTS: '1',
    QUEUE_MAX_DEQUEUE_COUNT: '2',
    ...extra,
  });
  return new RevocationPipeline({
    settings,
    ca: devCaClient(pki, settings),
    requests: createRequestLedger(azurite.connectionString),
    revocations: createRevocationLedger(azurite.connectionString),
    telemetry: new RecordingTelemetry(),
    ...(now ? { now } : {}),
  });
}

/** A certificate the simulator issued (through its own enrollment service), for a revocation to name. */
async function issuedSerial(): Promise<string> {
  counter += 1;
  const before = simulator.issued.length;
  const settings = readSettings({ CA_ALLOWED_HOSTS: simulator.authority });
  const mail = `revocation-${counter}-${Date.now()}@contoso.com`;
  await new CertificatePipeline({
    settings,
    ca: devCaClient(pki, settings),
    ledger: createRequestLedger(azurite.connectionString),
    telemetry: new RecordingTelemetry(),
  }).process(
    {
      schemaVersion: 1,
      requestId: `revocation-issue-${counter}-${Date.now()}`,
      certificateAuthority: simulator.authority,
      certificateAuthorityName: 'Symantec',
      certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
      subjectName: `CN=Revocation ${counter},E=${mail}`,
      subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
      recipientCertificate: pki.recipient.certPem,
    },
    { dequeueCount: 1 },
  );
  expect(simulator.issued.length).toBe(before + 1);
  return simulator.issued.at(-1)!.serialNumber;
}

const message = (serialNumber: string) => ({
  schemaVersion: 1,
  revocationId: `revocation-${++counter}-${Date.now()}`,
  certificateAuthority: simulator.authority,
  serialNumber,
  reason: 'Superseded',
});

beforeAll(async () => {
  devSimulator = await startDevSimulator('revocation-pipeline-');
  ({ pki, simulator } = devSimulator);
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.stop();
  await devSimulator?.close();
});

describe('a revocation on the last delivery', () => {
  it('waits out a CA outage (back on the queue with a delay) until REQUEST_MAX_WAIT_MINUTES, then GAVE_UP', async () => {
    const serial = await issuedSerial();
    const body = message(serial);
    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'certificateManagementService' });
    const deferred = await pipeline({ REQUEST_DEFER_MIN_SECONDS: '30' }).process(body, { dequeueCount: 2 });
    expect(deferred).toMatchObject({ kind: 'defer', delaySeconds: 30, error: { code: 'CA_UNAVAILABLE' } });

    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'certificateManagementService' });
    const muchLater = () => new Date(Date.now() + 5 * 3600_000);
    const gaveUp = await pipeline({}, muchLater).process(body, { dequeueCount: 2 });
    expect(gaveUp).toMatchObject({
      kind: 'result',
      result: { status: 'failed', error: { code: 'GAVE_UP' } },
    });
    expect(simulator.issued.find((c) => c.serialNumber === serial)?.status).toBe('VALID');
  });

  it('whose Revoke was carried out but not answered is reported revoked, not GAVE_UP', async () => {
    const serial = await issuedSerial();
    // The search goes through (a harmless fault takes its turn); the Revoke is done, then the connection reset.
    simulator.faults.enqueue(
      { kind: 'delay', ms: 0, service: 'certificateManagementService' },
      { kind: 'reset', after: 'processing', service: 'certificateManagementService' },
    );
    const outcome = await pipeline({ REQUEST_MAX_WAIT_MINUTES: '0' }).process(message(serial), {
      dequeueCount: 2,
    });
    expect(outcome).toMatchObject({
      kind: 'result',
      result: { status: 'revoked', serialNumber: serial, alreadyRevoked: false, reason: 'Superseded' },
    });
    expect(simulator.issued.find((c) => c.serialNumber === serial)?.status).toBe('REVOKED');
  });
});

describe("the broker's own supersede revocationId", () => {
  it("is refused from anyone else, and not recorded (the broker's own message later still goes through)", async () => {
    const serial = await issuedSerial();
    const forged = { ...message(serial), revocationId: `not-yet-issued-${Date.now()}/supersede` };
    const outcome = await pipeline().process(forged, { dequeueCount: 1 });
    expect(outcome).toMatchObject({
      kind: 'result',
      result: { status: 'failed', error: { code: 'INVALID_REQUEST' } },
    });
    expect(
      outcome.kind === 'result' && outcome.result.status === 'failed' && outcome.result.error.message,
    ).toMatch(/reserved for the broker's own revocation/);
    expect(simulator.issued.find((c) => c.serialNumber === serial)?.status).toBe('VALID');
  });
});

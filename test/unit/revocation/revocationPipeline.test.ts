/**
 * The revocation pipeline's endings over the in-memory ledgers and the fake CA: revoke and replay, retry,
 * defer and give up (the same decide() as issuing), an unknown serial, and the poison queue. The Azurite and
 * simulator suite (test/integration/revocation) runs the same against the real parts.
 */
import { createCertificate } from '../../../dev/pki/certificates';
import { readSettings } from '../../../shared/config/settings';
import { BrokerError } from '../../../shared/contract/errors';
import type { RevocationResult } from '../../../shared/contract/types';
import { CertificatePipeline } from '../../../shared/issuance/pipeline';
import { REVOCATION_ROW_KEY, type RevocationLedger } from '../../../shared/ledger/revocationLedger';
import { RevocationPipeline, type RevocationOutcome } from '../../../shared/revocation/revocationPipeline';
import { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { InMemoryRequestLedger, inMemoryRevocationLedger } from '../../support/inMemoryLedger';
import { RecordingTelemetry } from '../../support/recordingTelemetry';

const CA_HOST = 'pki-ws.example.test';
const START = Date.now();
const ca = FakeDigicertCa.create();
const recipient = createCertificate({ subject: [{ shortName: 'CN', value: 'PFX Recipient' }], days: 30 });

let clock: number;
let requests: InMemoryRequestLedger;
let revocations: RevocationLedger;
let counter = 0;

const now = (): Date => new Date(clock);
const outage = (): BrokerError => new BrokerError('CA_UNAVAILABLE', 'The CA answered 503.');

function pipeline(): RevocationPipeline {
  return new RevocationPipeline({
    settings: readSettings({ CA_ALLOWED_HOSTS: CA_HOST, QUEUE_MAX_DEQUEUE_COUNT: '2' }),
    ca,
    requests,
    revocations,
    telemetry: new RecordingTelemetry(),
    now,
  });
}

/** The serial of a certificate the fake CA issued through the issuing pipeline. */
async function issuedSerial(): Promise<string> {
  counter += 1;
  const mail = `revoked-${counter}@contoso.com`;
  const outcome = await new CertificatePipeline({
    settings: readSettings({ CA_ALLOWED_HOSTS: CA_HOST }),
    ca,
    ledger: requests,
    telemetry: new RecordingTelemetry(),
    now,
  }).process(
    {
      schemaVersion: 1,
      requestId: `issue-${counter}`,
      certificateAuthority: CA_HOST,
      certificateAuthorityName: 'Symantec',
      certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
      subjectName: `CN=Revoked ${counter},E=${mail}`,
      subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
      recipientCertificate: recipient.certPem,
    },
    { dequeueCount: 1 },
  );
  if (outcome.kind !== 'result' || outcome.result.status !== 'issued') throw new Error('not issued');
  return outcome.result.certificate.serialNumber;
}

function message(serialNumber: string): Record<string, unknown> {
  counter += 1;
  return {
    schemaVersion: 1,
    revocationId: `revocation-${counter}`,
    certificateAuthority: CA_HOST,
    serialNumber,
    reason: 'KeyCompromise',
  };
}

function resultOf(outcome: RevocationOutcome): RevocationResult {
  if (outcome.kind !== 'result')
    throw new Error(`expected a result, got ${outcome.kind}: ${outcome.error.message}`);
  return outcome.result;
}

const revokes = (): number => ca.calls.filter((call) => call.startsWith('revokeCertificate')).length;

beforeEach(() => {
  clock = START;
  ca.reset();
  requests = new InMemoryRequestLedger(undefined, { now });
  revocations = inMemoryRevocationLedger(requests.storage, { now });
});

it('revokes once, and replays the stored result byte for byte', async () => {
  const body = message(await issuedSerial());
  const first = await pipeline().process(body, { dequeueCount: 1 });
  expect(resultOf(first)).toMatchObject({
    status: 'revoked',
    reason: 'KeyCompromise',
    alreadyRevoked: false,
  });
  expect(ca.issued[0]).toMatchObject({ status: 'REVOKED', revocation: { reason: 'KeyCompromise' } });
  const again = await pipeline().process(body, { dequeueCount: 2 });
  expect(
    again.kind === 'result' && first.kind === 'result' && again.replayed && again.json === first.json,
  ).toBe(true);
  expect(revokes()).toBe(1);
});

it('retries an outage while deliveries remain, defers it on the last, and gives up after the max wait', async () => {
  const body = message(await issuedSerial());
  ca.failNext('searchCertificates', outage(), outage(), outage());
  expect(await pipeline().process(body, { dequeueCount: 1 })).toMatchObject({
    kind: 'retry',
    error: { code: 'CA_UNAVAILABLE' },
  });
  expect(await pipeline().process(body, { dequeueCount: 2 })).toMatchObject({
    kind: 'defer',
    revocationId: body.revocationId,
    delaySeconds: 60,
  });
  clock += 241 * 60_000;
  expect(resultOf(await pipeline().process(body, { dequeueCount: 2 }))).toMatchObject({
    status: 'failed',
    error: {
      code: 'GAVE_UP',
      message:
        'Gave up after 2 deliveries of the revocation; the last error was CA_UNAVAILABLE: The CA answered 503.',
    },
  });
  expect(revokes()).toBe(0);
});

it('reports a serial the CA does not know at once', async () => {
  const result = resultOf(await pipeline().process(message('1234ABCD'), { dequeueCount: 1 }));
  expect(result).toMatchObject({
    status: 'failed',
    error: { code: 'CERTIFICATE_NOT_FOUND', retryable: false },
  });
});

it('ends a poison message with GAVE_UP and the last error its record saw', async () => {
  const body = message(await issuedSerial());
  ca.failNext('searchCertificates', outage());
  expect((await pipeline().process(body, { dequeueCount: 1 })).kind).toBe('retry');
  expect(resultOf(await pipeline().poisoned(body))).toMatchObject({
    status: 'failed',
    error: {
      code: 'GAVE_UP',
      message:
        'The revocation was delivered 2 times and no delivery completed, so it was moved to the poison queue; the last error was CA_UNAVAILABLE: The CA answered 503.',
    },
  });
});

describe('revocation record writes', () => {
  /** The writes that reached the record of `revocationId`. */
  const recordWrites = (revocationId: string): string[] =>
    requests.storage.writes.filter((write) => write.endsWith(` ${revocationId}/${REVOCATION_ROW_KEY}`));

  it('a revocation costs two: `revoking` (the insert) before the CA is asked, then the result', async () => {
    const body = message(await issuedSerial());
    const id = String(body.revocationId);
    requests.storage.beforeNextWrite(REVOCATION_ROW_KEY, () => expect(revokes()).toBe(0));
    expect(resultOf(await pipeline().process(body, { dequeueCount: 1 })).status).toBe('revoked');
    expect(recordWrites(id)).toEqual([
      `create ${id}/${REVOCATION_ROW_KEY}`,
      `update ${id}/${REVOCATION_ROW_KEY}`,
    ]);
  });

  it('a failure for good costs one: the record, stored with its outcome, which a repeat replays', async () => {
    const body = message('1234ABCD');
    const id = String(body.revocationId);
    const first = await pipeline().process(body, { dequeueCount: 1 });
    expect(resultOf(first)).toMatchObject({ status: 'failed', error: { code: 'CERTIFICATE_NOT_FOUND' } });
    expect(recordWrites(id)).toEqual([`create ${id}/${REVOCATION_ROW_KEY}`]);
    const again = await pipeline().process(body, { dequeueCount: 1 });
    expect(
      again.kind === 'result' && first.kind === 'result' && again.replayed && again.json === first.json,
    ).toBe(true);
  });

  it('of two deliveries racing to record, one revokes and the other retries, then replays', async () => {
    const body = message(await issuedSerial());
    let other: RevocationOutcome | undefined;
    requests.storage.beforeNextWrite(REVOCATION_ROW_KEY, async () => {
      other = await pipeline().process(body, { dequeueCount: 1 });
    });
    expect(await pipeline().process(body, { dequeueCount: 1 })).toMatchObject({
      kind: 'retry',
      error: { code: 'GAVE_UP', retryable: true },
    });
    expect(resultOf(other!).status).toBe('revoked');
    const replay = await pipeline().process(body, { dequeueCount: 2 });
    expect(replay.kind === 'result' && other?.kind === 'result' && replay.json === other.json).toBe(true);
    expect(revokes()).toBe(1);
  });
});

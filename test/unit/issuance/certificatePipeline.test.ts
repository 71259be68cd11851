/**
 * The issuing pipeline's whole delivery matrix — issue, replay, retry, defer, give up, lost answers
 * reconciled, concurrent deliveries, the poison queue — over the in-memory ledger and the fake CA: no
 * Azurite, no simulator, no network. The integration suites (test/integration/pipeline) run the same
 * guarantees against the real parts.
 */
import { X509Certificate } from 'node:crypto';
import { createCertificate } from '../../../dev/pki/certificates';
import { readSettings, type BrokerSettings } from '../../../shared/config/settings';
import { BrokerError } from '../../../shared/contract/errors';
import type { PkcsResult } from '../../../shared/contract/types';
import { KeyPool, type KeySource } from '../../../shared/crypto/keyPool';
import type { KeySpec } from '../../../shared/crypto/keys';
import { CertificatePipeline, type PipelineOutcome } from '../../../shared/issuance/pipeline';
import { HeldEnrollmentKeys } from '../../../shared/issuance/heldKeys';
import type { ReconciliationTelemetry } from '../../../shared/telemetry/telemetry';
import { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { LEDGER_ROW_KEY } from '../../../shared/ledger/entity';
import { InMemoryRequestLedger } from '../../support/inMemoryLedger';
import { RecordingTelemetry } from '../../support/recordingTelemetry';

const CA_HOST = 'pki-ws.example.test';
const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
// The certificates are made on the real clock: the pipeline's clock starts there and is moved by hand.
const START = Date.now();

const ca = FakeDigicertCa.create();
const recipient = createCertificate({ subject: [{ shortName: 'CN', value: 'PFX Recipient' }], days: 30 });

let clock: number;
let ledger: InMemoryRequestLedger;
let telemetry: ReturnType<typeof recordingTelemetry>;
let counter = 0;

/** The recording telemetry, keeping what reconciliation reports too. */
function recordingTelemetry(): RecordingTelemetry & { reconciliations: ReconciliationTelemetry[] } {
  const reconciliations: ReconciliationTelemetry[] = [];
  return Object.assign(new RecordingTelemetry(), {
    reconciliations,
    trackReconciliation: (event: ReconciliationTelemetry) => void reconciliations.push(event),
  });
}

const now = (): Date => new Date(clock);
const minutes = (count: number): void => {
  clock += count * 60_000;
};

function settingsFor(extra: Record<string, string> = {}): BrokerSettings {
  return readSettings({ CA_ALLOWED_HOSTS: CA_HOST, ...extra });
}

/** A pipeline of one instance: instances share the ledger and the CA, each holds its own keys. */
function instance(
  options: { settings?: BrokerSettings; heldKeys?: HeldEnrollmentKeys } = {},
): CertificatePipeline {
  return new CertificatePipeline({
    settings: options.settings ?? settingsFor(),
    ca,
    ledger,
    telemetry,
    now,
    heldKeys: options.heldKeys ?? new HeldEnrollmentKeys({ now: () => clock }),
  });
}

/** A request for a seat of its own. */
function request(overrides: Record<string, unknown> = {}): Record<string, unknown> & { requestId: string } {
  counter += 1;
  const mail = `user-${counter}@contoso.com`;
  return {
    schemaVersion: 1,
    requestId: `unit-${counter}`,
    certificateAuthority: CA_HOST,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: USER_PROFILE,
    subjectName: `CN=User ${counter},E=${mail}`,
    subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
    recipientCertificate: recipient.certPem,
    ...overrides,
  };
}

function seatOf(body: Record<string, unknown>): { valid: number; revoked: number } {
  return ca.seat((body.subjectAlternativeNames as { value: string }[])[0]!.value);
}

function resultOf(outcome: PipelineOutcome): PkcsResult {
  if (outcome.kind !== 'result')
    throw new Error(`expected a result, got ${outcome.kind}: ${outcome.error.message}`);
  return outcome.result;
}

function enrollments(): number {
  return ca.calls.filter((call) => call.startsWith('enroll ')).length;
}

const outage = (): BrokerError => new BrokerError('CA_UNAVAILABLE', 'The CA answered 503.');

beforeEach(() => {
  clock = START;
  ca.reset();
  ledger = new InMemoryRequestLedger(undefined, { now });
  telemetry = recordingTelemetry();
});

describe('issuing and replaying', () => {
  it('issues once and stores the result as published', async () => {
    const body = request();
    const outcome = await instance().process(body, { dequeueCount: 1 });
    const result = resultOf(outcome);
    expect(result).toMatchObject({ status: 'issued', requestId: body.requestId });
    const record = await ledger.record(body.requestId);
    expect(record).toMatchObject({ state: 'issued', serialNumber: ca.issued[0]!.serialNumber });
    expect(outcome.kind === 'result' && record.resultJson === outcome.json).toBe(true);
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 0 });
    expect(telemetry.events.map((event) => event.outcome)).toEqual(['issued']);
  });

  it('replays a stored result byte for byte, on a repeat and on a redelivery, without calling the CA', async () => {
    const body = request();
    const first = await instance().process(JSON.stringify(body), { dequeueCount: 1 });
    const calls = ca.calls.length;
    const again = await instance().process(body, { dequeueCount: 1 });
    const redelivered = await instance().process(body, { dequeueCount: 3 });
    for (const outcome of [again, redelivered]) {
      expect(outcome).toMatchObject({ kind: 'result', replayed: true });
      expect(outcome.kind === 'result' && first.kind === 'result' && outcome.json === first.json).toBe(true);
    }
    expect(ca.calls).toHaveLength(calls);
    expect(telemetry.events.map((event) => event.outcome)).toEqual(['issued', 'replayed', 'replayed']);
  });

  it('replays a stored failure the same way', async () => {
    ca.failNext('enroll', new BrokerError('CA_REJECTED', 'The CA refused.', { caMessage: 'seat disabled' }));
    const body = request();
    const first = await instance().process(body, { dequeueCount: 1 });
    const again = await instance().process(body, { dequeueCount: 1 });
    expect(resultOf(first)).toMatchObject({
      status: 'failed',
      error: { code: 'CA_REJECTED', caMessage: 'seat disabled' },
    });
    expect(
      again.kind === 'result' && first.kind === 'result' && again.replayed && again.json === first.json,
    ).toBe(true);
    expect(enrollments()).toBe(1);
  });

  it('refuses a requestId reused for another body, and keeps the first result', async () => {
    const body = request();
    const first = await instance().process(body, { dequeueCount: 1 });
    const reused = resultOf(
      await instance().process({ ...body, subjectName: 'CN=Other,E=other@contoso.com' }, { dequeueCount: 1 }),
    );
    expect(reused).toMatchObject({ status: 'failed', error: { code: 'INVALID_REQUEST' } });
    const record = await ledger.record(body.requestId);
    expect(first.kind === 'result' && record.resultJson === first.json).toBe(true);
  });

  it('answers a message it cannot read with a failed result naming null', async () => {
    const result = resultOf(await instance().process('{not json', { dequeueCount: 1 }));
    expect(result).toMatchObject({ status: 'failed', requestId: null, error: { code: 'INVALID_REQUEST' } });
    expect(ledger.storage.writes).toEqual([]);
  });
});

/** The writes that reached the record of `requestId` (not the seat reservations beside it). */
function recordWrites(requestId: string): string[] {
  return ledger.storage.writes.filter((write) => write.endsWith(` ${requestId}/${LEDGER_ROW_KEY}`));
}

describe('ledger writes', () => {
  it('an issued certificate costs two: the enrollment (the insert), then the result', async () => {
    const body = request();
    const held = ca.holdNextEnrollment();
    const pending = instance().process(body, { dequeueCount: 1 });
    await held.sent;
    // Stored before the CA is asked: the enrollment, with the key to look for.
    expect(await ledger.record(body.requestId)).toMatchObject({
      state: 'enrolling',
      enrollment: { attempt: 1 },
    });
    held.answer();
    expect(resultOf(await pending).status).toBe('issued');
    expect(recordWrites(body.requestId)).toEqual([
      `create ${body.requestId}/${LEDGER_ROW_KEY}`,
      `update ${body.requestId}/${LEDGER_ROW_KEY}`,
    ]);
  });

  it('a replay costs none', async () => {
    const body = request();
    await instance().process(body, { dequeueCount: 1 });
    const before = ledger.storage.writes.length;
    expect(await instance().process(body, { dequeueCount: 1 })).toMatchObject({ replayed: true });
    expect(ledger.storage.writes).toHaveLength(before);
  });

  it('a permanent failure before enrolling costs one: the record, stored with its outcome', async () => {
    const body = request();
    ca.failNext('getPolicy', new BrokerError('PROFILE_NOT_FOUND', 'No such profile.'));
    expect(resultOf(await instance().process(body, { dequeueCount: 1 })).status).toBe('failed');
    expect(recordWrites(body.requestId)).toEqual([`create ${body.requestId}/${LEDGER_ROW_KEY}`]);
    expect(await ledger.record(body.requestId)).toMatchObject({
      state: 'failed',
      errorCode: 'PROFILE_NOT_FOUND',
      createdAt: new Date(START).toISOString(),
    });
  });
});

describe('when a request was first seen (createdAt, from which REQUEST_MAX_WAIT_MINUTES counts)', () => {
  it('is the first delivery, not when the message was queued', async () => {
    const body = request();
    ca.failNext('getPolicy', outage());
    const insertedAt = new Date(START - 60 * 60_000);
    expect((await instance().process(body, { dequeueCount: 1, insertedAt })).kind).toBe('retry');
    expect((await ledger.record(body.requestId)).createdAt).toBe(new Date(START).toISOString());
  });

  it("is the message's insertion for a redelivery that finds no record, so a wait never starts over", async () => {
    const body = request();
    // Earlier deliveries ended (a host that died) before recording anything.
    const insertedAt = new Date(START - 3 * 60_000);
    ca.failNext('getPolicy', outage());
    expect(await instance().process(body, { dequeueCount: 5, insertedAt })).toMatchObject({
      kind: 'defer',
      delaySeconds: 90,
    });
    expect((await ledger.record(body.requestId)).createdAt).toBe(insertedAt.toISOString());
  });

  it('is known only from a stored record: a request whose record cannot be written is not deferred', async () => {
    const body = request();
    ca.failNext('getPolicy', outage());
    // The write noting the failure is lost: a deferred message would come back with no date to count from.
    ledger.storage.beforeNextWrite(LEDGER_ROW_KEY, () => {
      throw Object.assign(new Error('503 ServerBusy'), { statusCode: 503 });
    });
    expect(resultOf(await instance().process(body, { dequeueCount: 5 }))).toMatchObject({
      status: 'failed',
      error: { code: 'GAVE_UP' },
    });
  });
});

describe('a transient failure', () => {
  it('is retried while deliveries remain, noting the error in the ledger, then issues', async () => {
    ca.failNext('getPolicy', outage());
    const body = request();
    const retry = await instance().process(body, { dequeueCount: 1 });
    expect(retry).toMatchObject({
      kind: 'retry',
      requestId: body.requestId,
      error: { code: 'CA_UNAVAILABLE' },
    });
    expect((await ledger.record(body.requestId)).lastError).toEqual({
      code: 'CA_UNAVAILABLE',
      message: 'The CA answered 503.',
    });
    expect(resultOf(await instance().process(body, { dequeueCount: 2 })).status).toBe('issued');
    expect(telemetry.events.map((event) => event.outcome)).toEqual(['retrying', 'issued']);
  });

  it('is deferred on the last delivery, with a delay growing with the request age', async () => {
    const body = request();
    ca.failNext('getPolicy', outage(), outage());
    expect(await instance().process(body, { dequeueCount: 5 })).toMatchObject({
      kind: 'defer',
      requestId: body.requestId,
      delaySeconds: 60,
      error: { code: 'CA_UNAVAILABLE' },
    });
    minutes(30);
    expect(await instance().process(body, { dequeueCount: 1 + 5 })).toMatchObject({
      kind: 'defer',
      delaySeconds: 900,
    });
    const record = await ledger.record(body.requestId);
    expect(record.events.filter((event) => event.includes('back on the queue in'))).toEqual([
      `deliveries used up by CA_UNAVAILABLE; back on the queue in 60 s (waits up to REQUEST_MAX_WAIT_MINUTES from ${new Date(START).toISOString()})`,
      `deliveries used up by CA_UNAVAILABLE; back on the queue in 900 s (waits up to REQUEST_MAX_WAIT_MINUTES from ${new Date(START).toISOString()})`,
    ]);
    expect(record.state).toBe('received');
  });

  it('gives up once REQUEST_MAX_WAIT_MINUTES has passed, reporting GAVE_UP with the cause', async () => {
    const body = request();
    ca.failNext('getPolicy', outage());
    expect((await instance().process(body, { dequeueCount: 1 })).kind).toBe('retry');
    minutes(241);
    ca.failNext('getPolicy', outage());
    const result = resultOf(await instance().process(body, { dequeueCount: 5 }));
    expect(result).toMatchObject({
      status: 'failed',
      error: {
        code: 'GAVE_UP',
        retryable: false,
        message:
          'Gave up after 5 deliveries of the message; the last error was CA_UNAVAILABLE: The CA answered 503.',
      },
    });
    expect((await ledger.record(body.requestId)).state).toBe('failed');
    expect(telemetry.events.at(-1)).toMatchObject({ outcome: 'failed', errorCode: 'CA_UNAVAILABLE' });
  });

  it('gives up at once on the last delivery when waiting is off', async () => {
    const body = request();
    ca.failNext('getPolicy', outage());
    const settings = settingsFor({ REQUEST_MAX_WAIT_MINUTES: '0' });
    expect(resultOf(await instance({ settings }).process(body, { dequeueCount: 5 }))).toMatchObject({
      status: 'failed',
      error: { code: 'GAVE_UP' },
    });
  });

  it('that is unforeseen is retried, but not waited for beyond the deliveries', async () => {
    const body = request();
    ca.failNext(
      'getPolicy',
      new TypeError('boom') as unknown as BrokerError,
      new TypeError('boom') as unknown as BrokerError,
    );
    expect(await instance().process(body, { dequeueCount: 1 })).toMatchObject({
      kind: 'retry',
      error: { code: 'GAVE_UP' },
    });
    const result = resultOf(await instance().process(body, { dequeueCount: 5 }));
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'GAVE_UP', message: 'The broker failed unexpectedly: boom' },
    });
  });
});

describe('a permanent failure', () => {
  it('ends the request at once, and the ledger knows nothing was issued', async () => {
    const body = request();
    ca.failNext('enroll', new BrokerError('CA_REJECTED', 'The CA refused.'));
    expect(resultOf(await instance().process(body, { dequeueCount: 1 }))).toMatchObject({
      status: 'failed',
      error: { code: 'CA_REJECTED', retryable: false },
    });
    const record = await ledger.record(body.requestId);
    expect(record).toMatchObject({ state: 'failed', enrollment: { attempt: 1, nothingIssued: true } });
    expect(ca.calls.filter((call) => call.startsWith('searchCertificates'))).toEqual([]);
  });

  it('is not deferred on the last delivery either', async () => {
    const body = request();
    ca.failNext('getPolicy', new BrokerError('PROFILE_NOT_FOUND', 'No such profile.'));
    expect(resultOf(await instance().process(body, { dequeueCount: 5 }))).toMatchObject({
      status: 'failed',
      error: { code: 'PROFILE_NOT_FOUND' },
    });
  });
});

describe('an enrollment whose answer is lost', () => {
  it('uses the certificate the CA issued for the key still in hand', async () => {
    const body = request();
    ca.loseNextAnswer('issued');
    const result = resultOf(await instance().process(body, { dequeueCount: 1 }));
    expect(result.status === 'issued' && result.certificate.serialNumber).toBe(ca.issued[0]!.serialNumber);
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 0 });
    expect((await ledger.record(body.requestId)).events.join('\n')).toMatch(
      /got no answer \(CA_TIMEOUT\).*which is used/,
    );
    expect(telemetry.reconciliations).toMatchObject([{ action: 'used-issued-certificate', attempt: 1 }]);
  });

  it('waits while the CA may still issue, then uses a late certificate on the instance holding its key', async () => {
    const body = request();
    const pipeline = instance();
    ca.loseNextAnswer('issues-late');
    expect(await pipeline.process(body, { dequeueCount: 1 })).toMatchObject({
      kind: 'retry',
      error: { code: 'CA_TIMEOUT' },
    });
    expect(await pipeline.process(body, { dequeueCount: 2 })).toMatchObject({
      kind: 'retry',
      error: { code: 'CA_UNAVAILABLE' },
    });
    ca.issueLate();
    const result = resultOf(await pipeline.process(body, { dequeueCount: 3 }));
    expect(result.status === 'issued' && result.certificate.serialNumber).toBe(ca.issued[0]!.serialNumber);
    expect(enrollments()).toBe(1);
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 0 });
    expect((await ledger.record(body.requestId)).events.join('\n')).toMatch(
      /issued \S+ late for attempt 1, whose key this instance still held/,
    );
  });

  it('revokes a late certificate whose key another instance holds, then enrolls once more', async () => {
    const body = request();
    ca.loseNextAnswer('issues-late');
    expect((await instance().process(body, { dequeueCount: 1 })).kind).toBe('retry');
    ca.issueLate();
    const result = resultOf(await instance().process(body, { dequeueCount: 2 }));
    expect(result.status).toBe('issued');
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 1 });
    expect(ca.issued[0]).toMatchObject({ status: 'REVOKED', revocation: { reason: 'Superseded' } });
    expect(telemetry.reconciliations.map((event) => event.action)).toEqual(['revoked-stray']);
  });

  it('enrolls again once CA_LATE_ISSUE_WINDOW_SECONDS has passed without a certificate', async () => {
    const body = request();
    ca.loseNextAnswer('never-issued');
    expect((await instance().process(body, { dequeueCount: 1 })).kind).toBe('retry');
    minutes(1);
    expect(await instance().process(body, { dequeueCount: 2 })).toMatchObject({
      kind: 'retry',
      error: { code: 'CA_UNAVAILABLE' },
    });
    minutes(2);
    expect(resultOf(await instance().process(body, { dequeueCount: 3 })).status).toBe('issued');
    expect(enrollments()).toBe(2);
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 0 });
    expect((await ledger.record(body.requestId)).events.join('\n')).toMatch(
      /attempt 1 left no certificate at the CA$/m,
    );
  });

  it('then a failure for good: what the CA issued for the lost attempt is revoked', async () => {
    const body = request();
    ca.loseNextAnswer('issues-late');
    expect((await instance().process(body, { dequeueCount: 1 })).kind).toBe('retry');
    ca.issueLate();
    // By the next delivery the recipient certificate has expired: the request cannot be completed.
    minutes(60 * 24 * 31);
    const result = resultOf(await instance().process(body, { dequeueCount: 2 }));
    expect(result).toMatchObject({ status: 'failed', error: { code: 'RECIPIENT_INVALID' } });
    expect(seatOf(body)).toEqual({ valid: 0, revoked: 1 });
  });
});

describe("a request that ends for good on the instance still holding a lost attempt's key", () => {
  it('revokes the certificate the CA issued for it: a failed request leaves nothing VALID', async () => {
    const body = request();
    const settings = settingsFor({ REQUEST_MAX_WAIT_MINUTES: '0' });
    const pipeline = instance({ settings });
    ca.loseNextAnswer('issues-late');
    expect((await pipeline.process(body, { dequeueCount: 1 })).kind).toBe('retry');
    ca.issueLate();
    // The last delivery cannot read the profile's policy, and waiting is off: the request ends as GAVE_UP.
    ca.failNext('getPolicy', outage());
    const result = resultOf(await pipeline.process(body, { dequeueCount: 5 }));
    expect(result).toMatchObject({ status: 'failed', error: { code: 'GAVE_UP' } });
    expect(seatOf(body)).toEqual({ valid: 0, revoked: 1 });
    expect(ca.issued[0]).toMatchObject({ status: 'REVOKED', revocation: { reason: 'Superseded' } });
    expect((await ledger.record(body.requestId)).events.join('\n')).toMatch(
      /revoked certificate \S+ of attempt 1: the request ended without delivering it/,
    );
  });
});

describe('a request that ends while the CA cannot be asked about a lost attempt', () => {
  it('still publishes its result, and the record names the seat and key to revoke by hand', async () => {
    const body = request();
    ca.loseNextAnswer('issues-late');
    expect((await instance().process(body, { dequeueCount: 1 })).kind).toBe('retry');
    ca.issueLate();
    minutes(60 * 24 * 31);
    ca.failNext('searchCertificates', outage());
    const result = resultOf(await instance().process(body, { dequeueCount: 2 }));
    expect(result).toMatchObject({ status: 'failed', error: { code: 'RECIPIENT_INVALID' } });
    const record = await ledger.record(body.requestId);
    expect(record.state).toBe('failed');
    expect(record.events.at(-1)).toBe(
      `attempt 1 could not be settled with the CA before the request ended (CA_UNAVAILABLE: The CA answered 503.); a certificate the CA issued for it (seat ${record.enrollment!.seatId}, public key SHA-256 ${record.enrollment!.publicKeySha256}) must be revoked by hand`,
    );
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 0 });
  });
});

describe('deliveries of one request at the same time', () => {
  it('a delivery that loses the race to the ledger retries, then replays what the other one issued', async () => {
    const body = request();
    let other: PipelineOutcome | undefined;
    // Just before the first delivery records its enrollment, a second delivery handles the whole request.
    ledger.storage.beforeNextWrite(LEDGER_ROW_KEY, async () => {
      other = await instance().process(body, { dequeueCount: 1 });
    });
    const first = await instance().process(body, { dequeueCount: 1 });
    expect(resultOf(other!).status).toBe('issued');
    expect(first).toMatchObject({
      kind: 'retry',
      error: {
        code: 'GAVE_UP',
        retryable: true,
        message: `Another delivery of request ${body.requestId} is handling it at the same time.`,
      },
    });
    const replay = await instance().process(body, { dequeueCount: 2 });
    expect(
      replay.kind === 'result' && other?.kind === 'result' && replay.replayed && replay.json === other.json,
    ).toBe(true);
    expect(enrollments()).toBe(1);
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 0 });
  });

  it('waits while another delivery may still be waiting for the CA, and settles at once on the last one', async () => {
    const body = request();
    // The first delivery sends its enrollment and dies waiting: the CA issues, no answer ever comes.
    const sent = ca.hangNextEnrollment();
    void instance().process(body, { dequeueCount: 1 });
    await sent;
    expect(await instance().process(body, { dequeueCount: 2 })).toMatchObject({
      kind: 'retry',
      error: { code: 'CA_UNAVAILABLE', message: expect.stringContaining('may still be waiting for the CA') },
    });
    const result = resultOf(await instance().process(body, { dequeueCount: 5 }));
    expect(result.status).toBe('issued');
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 1 });
    expect(telemetry.reconciliations.map((event) => event.action)).toEqual(['revoked-stray']);
  });
});

describe('a delivery that comes while another one waits for a slow CA', () => {
  it("leaves the record alone, so the other delivery's certificate is the request's only one", async () => {
    const body = request();
    const slow = ca.holdNextEnrollment();
    const first = instance().process(body, { dequeueCount: 1 });
    await slow.sent;
    // The visibility timeout ran out: the message is delivered again while the first delivery still waits.
    expect(await instance().process(body, { dequeueCount: 2 })).toMatchObject({
      kind: 'retry',
      error: { code: 'CA_UNAVAILABLE', message: expect.stringContaining('may still be waiting for the CA') },
    });
    slow.answer();
    expect(resultOf(await first).status).toBe('issued');
    expect(enrollments()).toBe(1);
    expect(seatOf(body)).toEqual({ valid: 1, revoked: 0 });
  });
});

describe('the poison queue', () => {
  it('reports GAVE_UP with the last error the ledger saw', async () => {
    const body = request();
    ca.failNext('getPolicy', outage());
    expect((await instance().process(body, { dequeueCount: 1 })).kind).toBe('retry');
    const result = resultOf(await instance().poisoned(body));
    expect(result).toMatchObject({
      status: 'failed',
      requestId: body.requestId,
      error: {
        code: 'GAVE_UP',
        message:
          'The request was delivered 5 times and no delivery completed, so it was moved to the poison queue; the last error was CA_UNAVAILABLE: The CA answered 503.',
      },
    });
    expect((await ledger.record(body.requestId)).state).toBe('failed');
  });

  it('replays a request that has a result', async () => {
    const body = request();
    const issued = await instance().process(body, { dequeueCount: 1 });
    const replay = await instance().poisoned(body);
    expect(
      replay.kind === 'result' && issued.kind === 'result' && replay.replayed && replay.json === issued.json,
    ).toBe(true);
  });

  it('reports a request the ledger never saw, and revokes what a lost attempt left', async () => {
    const unseen = resultOf(await instance().poisoned(request()));
    expect(unseen.status === 'failed' && unseen.error.message).toMatch(
      /the broker failed or was stopped while handling it/,
    );

    const body = request();
    const sent = ca.hangNextEnrollment();
    void instance().process(body, { dequeueCount: 1 });
    await sent;
    expect(resultOf(await instance().poisoned(body))).toMatchObject({
      status: 'failed',
      error: { code: 'GAVE_UP' },
    });
    expect(seatOf(body)).toEqual({ valid: 0, revoked: 1 });
  });

  it('stores the GAVE_UP of a request no delivery recorded, so a repeat replays it', async () => {
    const body = request();
    const gaveUp = await instance().poisoned(body);
    expect(resultOf(gaveUp)).toMatchObject({ status: 'failed', error: { code: 'GAVE_UP' } });
    const repeat = await instance().process(body, { dequeueCount: 1 });
    expect(
      repeat.kind === 'result' && gaveUp.kind === 'result' && repeat.replayed && repeat.json === gaveUp.json,
    ).toBe(true);
    expect(enrollments()).toBe(0);
  });

  it("does not let a message that reused the id take over the first request's record", async () => {
    const body = request();
    const issued = await instance().process(body, { dequeueCount: 1 });
    const other = resultOf(
      await instance().poisoned({ ...body, subjectName: 'CN=Other,E=other@contoso.com' }),
    );
    expect(other).toMatchObject({ status: 'failed', error: { code: 'GAVE_UP' } });
    const record = await ledger.record(body.requestId);
    expect(issued.kind === 'result' && record.resultJson === issued.json).toBe(true);
  });
});

describe('a request that supersedes an earlier certificate', () => {
  it('names it in the result and hands its revocation over, again on every replay', async () => {
    const mail = 'renewing@contoso.com';
    const seat = {
      subjectName: `CN=Renewing,E=${mail}`,
      subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
    };
    const old = resultOf(await instance().process(request(seat), { dequeueCount: 1 }));
    if (old.status !== 'issued') throw new Error('the first certificate was not issued');
    const body = request({ ...seat, supersedes: old.certificate.serialNumber });
    const outcome = await instance().process(body, { dequeueCount: 1 });
    const result = resultOf(outcome);
    expect(result.status === 'issued' && result.certificate.supersededSerialNumber).toBe(
      old.certificate.serialNumber,
    );
    expect(outcome.kind === 'result' && JSON.parse(outcome.revocation!)).toMatchObject({
      revocationId: `${body.requestId}/supersede`,
      serialNumber: old.certificate.serialNumber,
      reason: 'Superseded',
    });
    const replay = await instance().process(body, { dequeueCount: 2 });
    expect(
      replay.kind === 'result' && outcome.kind === 'result' && replay.revocation === outcome.revocation,
    ).toBe(true);
  });

  it("refuses another seat's certificate before enrolling", async () => {
    const old = resultOf(await instance().process(request(), { dequeueCount: 1 }));
    if (old.status !== 'issued') throw new Error('the first certificate was not issued');
    const calls = enrollments();
    const result = resultOf(
      await instance().process(request({ supersedes: old.certificate.serialNumber }), { dequeueCount: 1 }),
    );
    expect(result).toMatchObject({ status: 'failed', error: { code: 'REQUEST_NOT_ALLOWED' } });
    expect(enrollments()).toBe(calls);
  });
});

describe('keys from a key pool (KEY_POOL_SIZE)', () => {
  it('enrolls with a key taken from the pool, and a failed request never gives its key back', async () => {
    const pool = new KeyPool({ size: 2 });
    const taken: { bits: KeySpec; spki: string }[] = [];
    const keys: KeySource = {
      take: async (bits) => {
        const pair = await pool.take(bits);
        taken.push({ bits, spki: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('hex') });
        return pair;
      },
      close: () => pool.close(),
    };
    const pipeline = new CertificatePipeline({ settings: settingsFor(), ca, ledger, telemetry, now, keys });
    ca.failNext('enroll', new BrokerError('CA_REJECTED', 'The CA refused.'));
    expect(resultOf(await pipeline.process(request(), { dequeueCount: 1 }))).toMatchObject({
      status: 'failed',
    });
    expect(resultOf(await pipeline.process(request(), { dequeueCount: 1 }))).toMatchObject({
      status: 'issued',
    });
    keys.close();
    expect(taken.map((key) => key.bits)).toEqual([2048, 2048]);
    expect(new Set(taken.map((key) => key.spki)).size).toBe(2);
    const issuedSpki = new X509Certificate(ca.issued[0]!.der).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    expect(issuedSpki.toString('hex')).toBe(taken[1]!.spki);
  });
});

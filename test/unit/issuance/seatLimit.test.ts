/**
 * MAX_CERTIFICATES_PER_SEAT_PER_DAY through the issuing pipeline, over the in-memory Table ledger and the fake
 * CA: the limit, what counts (and what does not), the 24 h window and two requests racing for the last seat.
 */
import { createCertificate } from '../../../dev/pki/certificates';
import { readSettings } from '../../../shared/config/settings';
import { BrokerError } from '../../../shared/contract/errors';
import type { PkcsResult } from '../../../shared/contract/types';
import { CertificatePipeline, type PipelineOutcome } from '../../../shared/issuance/pipeline';
import { HeldEnrollmentKeys } from '../../../shared/issuance/heldKeys';
import { seatPartitionKey } from '../../../shared/ledger/seatUsage';
import { LEDGER_ROW_KEY } from '../../../shared/ledger/entity';
import { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { InMemoryRequestLedger } from '../../support/inMemoryLedger';
import { RecordingTelemetry } from '../../support/recordingTelemetry';

const CA_HOST = 'pki-ws.example.test';
const MAIL = 'IWUser0@contoso.com';
const START = Date.now();
const HOUR = 60 * 60 * 1000;
/** A smaller limit, where the default's 10 certificates would only make a test slower (RSA keys). */
const THREE = { MAX_CERTIFICATES_PER_SEAT_PER_DAY: '3' };

const ca = FakeDigicertCa.create();
const recipient = createCertificate({ subject: [{ shortName: 'CN', value: 'PFX Recipient' }], days: 30 });

let clock: number;
let ledger: InMemoryRequestLedger;
let counter = 0;

function pipeline(extra: Record<string, string> = {}): CertificatePipeline {
  return new CertificatePipeline({
    settings: readSettings({ CA_ALLOWED_HOSTS: CA_HOST, ...extra }),
    ca,
    ledger,
    telemetry: new RecordingTelemetry(),
    now: () => new Date(clock),
    heldKeys: new HeldEnrollmentKeys({ now: () => clock }),
  });
}

/** A new request for the one seat of these tests (the profile's seat is the e-mail address). */
function request(mail = MAIL): Record<string, unknown> & { requestId: string } {
  counter += 1;
  return {
    schemaVersion: 1,
    requestId: `seat-${counter}`,
    certificateAuthority: CA_HOST,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    subjectName: `CN=IWUser0,E=${mail}`,
    subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
    recipientCertificate: recipient.certPem,
  };
}

async function issueMany(count: number, broker = pipeline()): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    expect(resultOf(await broker.process(request(), { dequeueCount: 1 })).status).toBe('issued');
  }
}

function resultOf(outcome: PipelineOutcome): PkcsResult {
  if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
  return outcome.result;
}

const enrollments = (): number => ca.calls.filter((call) => call.startsWith('enroll ')).length;
const reservations = (mail = MAIL): number =>
  ledger.storage.partition(seatPartitionKey({ caHost: CA_HOST, seatId: mail })).length;

beforeEach(() => {
  clock = START;
  ca.reset();
  ledger = new InMemoryRequestLedger(undefined, { now: () => new Date(clock) });
});

describe('MAX_CERTIFICATES_PER_SEAT_PER_DAY (default 10)', () => {
  it('issues 10 for a seat, then refuses the 11th before the CA, naming the guardrail and the setting', async () => {
    await issueMany(10);
    const sent = enrollments();
    const refused = resultOf(await pipeline().process(request(), { dequeueCount: 1 }));
    expect(refused).toMatchObject({
      status: 'failed',
      error: {
        code: 'REQUEST_NOT_ALLOWED',
        message:
          'The DigiCert seat of this request has 10 certificates issued or under way in the last 24 hours; MAX_CERTIFICATES_PER_SEAT_PER_DAY allows 10 (per-seat limit).',
        retryable: false,
      },
    });
    if (refused.status !== 'failed') throw new Error('unreachable');
    expect(refused.error.remedy).toContain('MAX_CERTIFICATES_PER_SEAT_PER_DAY');
    expect(refused.error.remedy).toContain(new Date(START + 24 * HOUR).toISOString());
    // The seat (a person's address) is in no text of the refusal.
    expect(JSON.stringify(refused)).not.toMatch(/iwuser0@/i);
    expect(enrollments()).toBe(sent);
    expect(ca.seat(MAIL)).toEqual({ valid: 10, revoked: 0 });
    // The refused request's reservation is gone: 10 remain.
    expect(reservations()).toBe(10);
    // Another seat is not affected.
    expect(resultOf(await pipeline().process(request('other@contoso.com'), { dequeueCount: 1 })).status).toBe(
      'issued',
    );
  });

  it('keeps no e-mail address in any key of the ledger table', async () => {
    await issueMany(2);
    expect(ledger.storage.keys().join('\n')).not.toMatch(/@contoso/i);
    expect(reservations()).toBe(2);
    // The same seat whatever the case of the address.
    expect(seatPartitionKey({ caHost: CA_HOST, seatId: MAIL.toUpperCase() })).toBe(
      seatPartitionKey({ caHost: CA_HOST, seatId: MAIL }),
    );
  });

  it('does not count a repeat or a redelivery of an issued requestId: it is a replay', async () => {
    const broker = pipeline(THREE);
    await issueMany(2, broker);
    const third = request();
    const first = await broker.process(third, { dequeueCount: 1 });
    expect(resultOf(first).status).toBe('issued');
    for (const dequeueCount of [1, 1, 2, 3]) {
      const again = await broker.process(third, { dequeueCount });
      expect(again).toMatchObject({ kind: 'result', replayed: true });
    }
    expect(reservations()).toBe(3);
    expect(resultOf(await broker.process(request(), { dequeueCount: 1 }))).toMatchObject({
      error: { code: 'REQUEST_NOT_ALLOWED' },
    });
  });

  it('lets the seat have certificates again once the oldest are 24 h old, and forgets older reservations', async () => {
    const broker = pipeline(THREE);
    await issueMany(2, broker);
    clock += 12 * HOUR;
    await issueMany(1, broker);
    clock += 12 * HOUR - 1000;
    expect(resultOf(await broker.process(request(), { dequeueCount: 1 }))).toMatchObject({
      error: { code: 'REQUEST_NOT_ALLOWED' },
    });
    clock += 1000;
    await issueMany(2, broker);
    expect(resultOf(await broker.process(request(), { dequeueCount: 1 }))).toMatchObject({
      error: { code: 'REQUEST_NOT_ALLOWED' },
    });
    // The first two are older than the window: removed while counting.
    expect(reservations()).toBe(3);
    expect(ca.seat(MAIL).valid).toBe(5);
  });

  it('lets two requests racing for the last certificate of a seat never both pass', async () => {
    await issueMany(2, pipeline(THREE));
    const racing = [request(), request(), request()];
    const outcomes = await Promise.all(
      racing.map((body) => pipeline(THREE).process(body, { dequeueCount: 1 })),
    );
    const statuses = outcomes.map((outcome) => resultOf(outcome).status);
    expect(statuses.filter((status) => status === 'issued').length).toBeLessThanOrEqual(1);
    for (const outcome of outcomes) {
      const result = resultOf(outcome);
      if (result.status === 'failed') expect(result.error.code).toBe('REQUEST_NOT_ALLOWED');
    }
    expect(ca.seat(MAIL).valid).toBeLessThanOrEqual(3);
    expect(reservations()).toBe(ca.seat(MAIL).valid);
  });

  it('does not count a request that failed before enrolling, or that the CA refused outright', async () => {
    ca.failNext('getPolicy', new BrokerError('PROFILE_NOT_FOUND', 'The CA does not know the profile.'));
    ca.failNext(
      'enroll',
      new BrokerError('CA_REJECTED', 'The CA refused.'),
      new BrokerError('CA_REJECTED', 'The CA refused.'),
    );
    const broker = pipeline(THREE);
    for (const code of ['PROFILE_NOT_FOUND', 'CA_REJECTED', 'CA_REJECTED']) {
      expect(resultOf(await broker.process(request(), { dequeueCount: 1 }))).toMatchObject({
        error: { code },
      });
    }
    expect(reservations()).toBe(0);
    await issueMany(3, broker);
  });

  it("a delivery that loses the race on its last try leaves the winner's reservation alone", async () => {
    const body = request();
    let winner: PipelineOutcome | undefined;
    // Just before the losing delivery records its enrollment, another delivery handles the whole request.
    ledger.storage.beforeNextWrite(LEDGER_ROW_KEY, async () => {
      winner = await pipeline().process(body, { dequeueCount: 1 });
    });
    // The loser is on its last delivery (QUEUE_MAX_DEQUEUE_COUNT 5): it ends, but the request is the winner's.
    await pipeline()
      .process(body, { dequeueCount: 5 })
      .catch(() => undefined);
    expect(resultOf(winner!).status).toBe('issued');
    expect(ca.seat(MAIL)).toEqual({ valid: 1, revoked: 0 });
    expect(reservations()).toBe(1);
  });

  it('holds the seat while a request is retried, and its redelivery reuses the reservation', async () => {
    const broker = pipeline(THREE);
    await issueMany(2, broker);
    const waiting = request();
    ca.failNext('enroll', new BrokerError('CA_UNAVAILABLE', 'The CA answered 503.'));
    expect((await broker.process(waiting, { dequeueCount: 1 })).kind).toBe('retry');
    // The waiting request holds the seat's 3rd certificate: another is refused meanwhile.
    expect(resultOf(await broker.process(request(), { dequeueCount: 1 }))).toMatchObject({
      error: { code: 'REQUEST_NOT_ALLOWED' },
    });
    expect(resultOf(await broker.process(waiting, { dequeueCount: 2 })).status).toBe('issued');
    expect(reservations()).toBe(3);
    expect(ca.seat(MAIL).valid).toBe(3);
  });

  it('keeps counting a request that failed after an enrollment the CA may have carried out', async () => {
    const body = request();
    const broker = pipeline({ REQUEST_MAX_WAIT_MINUTES: '0' });
    ca.loseNextAnswer('issues-late');
    expect((await broker.process(body, { dequeueCount: 1 })).kind).toBe('retry');
    ca.issueLate();
    ca.failNext('getPolicy', new BrokerError('CA_UNAVAILABLE', 'The CA answered 503.'));
    expect(resultOf(await broker.process(body, { dequeueCount: 5 }))).toMatchObject({
      error: { code: 'GAVE_UP' },
    });
    // Its certificate was revoked, but the seat licence was spent.
    expect(ca.seat(MAIL)).toEqual({ valid: 0, revoked: 1 });
    expect(reservations()).toBe(1);
  });

  it('follows the setting: a lower limit, and 0 for no limit (nothing counted)', async () => {
    const one = pipeline({ MAX_CERTIFICATES_PER_SEAT_PER_DAY: '1' });
    await issueMany(1, one);
    expect(resultOf(await one.process(request(), { dequeueCount: 1 }))).toMatchObject({
      error: { code: 'REQUEST_NOT_ALLOWED', message: expect.stringContaining('allows 1 (') },
    });
    await issueMany(11, pipeline({ MAX_CERTIFICATES_PER_SEAT_PER_DAY: '0' }));
    expect(reservations()).toBe(1);
  });
});

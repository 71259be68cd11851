/**
 * The Table ledger against Azurite (in-memory, free ports): create-once (begin, or open and a first write),
 * optimistic concurrency, large results, bounded events, and a table that disappears under it.
 */
import { randomBytes } from 'node:crypto';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import type { IssuedResult } from '../../../shared/contract/types';
import { MAX_LEDGER_EVENTS } from '../../../shared/ledger/entity';
import { createTableClient } from '../../../shared/storage/clients';
import { createRequestLedger, type TableRequestLedger } from '../../../shared/ledger/tableLedger';
import {
  LedgerConflictError,
  LedgerStateError,
  type EnrollmentAttempt,
  type LedgerRecord,
} from '../../../shared/ledger/types';

let azurite: RunningAzurite;
let ledger: TableRequestLedger;
let mainTable: string;
let tableCounter = 0;
let requestCounter = 0;

function newTableName(): string {
  tableCounter += 1;
  return `ledgertest${tableCounter}`;
}

function newRequestId(): string {
  requestCounter += 1;
  return `req-${requestCounter}.${randomBytes(4).toString('hex')}:x_y`;
}

function beginInput(requestId: string, requestHash = 'a'.repeat(64)) {
  return {
    requestId,
    requestHash,
    profileOid: '2.16.840.1.113733.1.16.1.5.2.5.1.1234',
    caHost: '127.0.0.1:443',
  };
}

function attempt(number: number): EnrollmentAttempt {
  return {
    attempt: number,
    clientTransactionId: `ctid-${number}`,
    publicKeySha256: randomBytes(32).toString('hex'),
    startedAt: new Date().toISOString(),
    seatId: 'device-1',
  };
}

function issuedResult(requestId: string, pfxBytes: number): { result: IssuedResult; json: string } {
  const result: IssuedResult = {
    schemaVersion: 1,
    requestId,
    completedAt: '2026-01-01T00:00:00.000Z',
    status: 'issued',
    certificate: {
      serialNumber: '7F00AA01',
      thumbprint: 'AB'.repeat(20),
      subject: 'CN=Zoë Ünïcode ✓ \u{1F511}',
      issuer: 'CN=Test Issuing CA',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      chainPem: [],
    },
    pfx: {
      data: randomBytes(pfxBytes).toString('base64'),
      password: { algorithm: 'RSA-OAEP-256', recipientThumbprint: 'CD'.repeat(20), encryptedValue: 'ZW5j' },
    },
  };
  return { result, json: JSON.stringify(result, null, 2) };
}

beforeAll(async () => {
  azurite = await startAzurite();
  mainTable = newTableName();
  ledger = createRequestLedger(azurite.connectionString, mainTable);
});

afterAll(async () => {
  await azurite?.stop();
});

describe('TableRequestLedger on Azurite', () => {
  it('creates its table on first use and answers undefined for an unknown requestId', async () => {
    const fresh = createRequestLedger(azurite.connectionString, newTableName());
    await expect(fresh.get(newRequestId())).resolves.toBeUndefined();
  });

  it('begin creates the record once and returns the stored one on a repeat, whatever its body hash', async () => {
    const requestId = newRequestId();
    const first = await ledger.begin(beginInput(requestId, '1'.repeat(64)));
    expect(first.created).toBe(true);
    expect(first.record).toMatchObject({
      requestId,
      requestHash: '1'.repeat(64),
      state: 'received',
      events: [],
    });
    expect(first.record.etag).toMatch(/^W\/"/);

    const repeat = await ledger.begin(beginInput(requestId, '2'.repeat(64)));
    expect(repeat.created).toBe(false);
    expect(repeat.record).toEqual(first.record);
    await expect(ledger.get(requestId)).resolves.toEqual(first.record);
  });

  it('of 5 concurrent begins of one requestId (separate hosts), exactly one creates', async () => {
    const tableName = newTableName();
    const hosts = Array.from({ length: 5 }, () => createRequestLedger(azurite.connectionString, tableName));
    const requestId = newRequestId();
    const outcomes = await Promise.all(
      hosts.map((host, index) => host.begin(beginInput(requestId, String(index).repeat(64)))),
    );
    const creators = outcomes.filter((outcome) => outcome.created);
    expect(creators).toHaveLength(1);
    for (const outcome of outcomes) expect(outcome.record).toEqual(creators[0]!.record);
  });

  it('open only reads: a new record is stored by its first write, and of two first writes one wins', async () => {
    const tableName = newTableName();
    const [hostA, hostB] = [1, 2].map(() => createRequestLedger(azurite.connectionString, tableName));
    const requestId = newRequestId();
    const seenSince = new Date(Date.now() - 60_000);
    const [openedA, openedB] = await Promise.all([
      hostA!.open({ ...beginInput(requestId), seenSince }),
      hostB!.open(beginInput(requestId)),
    ]);
    expect(openedA).toMatchObject({ requestId, state: 'received', createdAt: seenSince.toISOString() });
    expect(openedA!.etag).toBeUndefined();
    await expect(hostA!.get(requestId)).resolves.toBeUndefined();

    const settled = await Promise.allSettled([
      hostA!.recordEnrollment(openedA!, attempt(1)),
      hostB!.recordEnrollment(openedB!, attempt(1)),
    ]);
    const written = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    expect(written).toHaveLength(1);
    const rejected = settled.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(LedgerConflictError);
    expect(written[0]!.etag).toMatch(/^W\/"/);
    await expect(hostB!.get(requestId)).resolves.toEqual(written[0]);
    await expect(hostB!.open(beginInput(requestId))).resolves.toEqual(written[0]);
  });

  it('walks received → enrolling → (transient failure) → enrolling again → issued, each write a new etag', async () => {
    const requestId = newRequestId();
    const { record: received } = await ledger.begin(beginInput(requestId));

    const enrolling = await ledger.recordEnrollment(received, attempt(1));
    expect(enrolling.state).toBe('enrolling');
    expect(enrolling.enrollment?.clientTransactionId).toBe('ctid-1');

    const failedOnce = await ledger.recordTransientFailure(enrolling, {
      code: 'CA_TIMEOUT',
      message: 'no answer in 30 s',
    });
    expect(failedOnce.lastError).toEqual({ code: 'CA_TIMEOUT', message: 'no answer in 30 s' });
    expect(failedOnce.state).toBe('enrolling');

    const second = await ledger.recordEnrollment(failedOnce, attempt(2));
    const { result, json } = issuedResult(requestId, 2_000);
    const issued = await ledger.recordOutcome(second, result, json);
    expect(issued).toMatchObject({
      state: 'issued',
      serialNumber: '7F00AA01',
      thumbprint: 'AB'.repeat(20),
      resultJson: json,
      enrollment: { attempt: 2 },
      lastError: { code: 'CA_TIMEOUT' },
    });

    const etags = [received, enrolling, failedOnce, second, issued].map((record) => record.etag);
    expect(new Set(etags).size).toBe(etags.length);
    await expect(ledger.get(requestId)).resolves.toEqual(issued);

    // The outcome is final: a repeat cannot start another enrollment or replace the stored result.
    await expect(ledger.recordEnrollment(issued, attempt(3))).rejects.toBeInstanceOf(LedgerStateError);
    await expect(ledger.recordOutcome(issued, result, '{}')).rejects.toBeInstanceOf(LedgerStateError);
    await expect(ledger.get(requestId)).resolves.toEqual(issued);
  });

  it('records a failed outcome with its code', async () => {
    const requestId = newRequestId();
    const { record } = await ledger.begin(beginInput(requestId));
    const failed = {
      schemaVersion: 1 as const,
      requestId,
      completedAt: '2026-01-01T00:00:00.000Z',
      status: 'failed' as const,
      error: { code: 'GAVE_UP', message: 'the queue gave up', remedy: 'resubmit', retryable: true },
    };
    const stored = await ledger.recordOutcome(record, failed, JSON.stringify(failed));
    expect(await ledger.get(requestId)).toEqual(stored);
    expect(stored).toMatchObject({
      state: 'failed',
      errorCode: 'GAVE_UP',
      resultJson: JSON.stringify(failed),
    });
    expect(stored.serialNumber).toBeUndefined();
  });

  it('of two writers that read the same version, the second fails with LedgerConflictError and changes nothing', async () => {
    const requestId = newRequestId();
    await ledger.begin(beginInput(requestId));
    const readerA = (await ledger.get(requestId))!;
    const readerB = (await ledger.get(requestId))!;
    expect(readerB.etag).toBe(readerA.etag);

    const written = await ledger.recordEnrollment(readerA, attempt(1));
    const conflict = ledger.recordEnrollment(readerB, attempt(1));
    await expect(conflict).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(conflict).rejects.toMatchObject({ requestId });
    await expect(ledger.recordEvent(readerB, 'stale')).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(ledger.get(requestId)).resolves.toEqual(written);

    // The record just written is current, so the writer that won can go on.
    await expect(ledger.recordEvent(written, 'fresh')).resolves.toMatchObject({ events: ['fresh'] });
  });

  it('of two concurrent writes of one version, exactly one succeeds', async () => {
    const requestId = newRequestId();
    const { record } = await ledger.begin(beginInput(requestId));
    const settled = await Promise.allSettled([
      ledger.recordEnrollment(record, attempt(1)),
      ledger.recordTransientFailure(record, { code: 'X', message: 'y' }),
    ]);
    expect(settled.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const rejected = settled.filter((outcome) => outcome.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(LedgerConflictError);
  });

  it('stores a 150 KB result in chunks and returns it byte for byte', async () => {
    const requestId = newRequestId();
    const { record } = await ledger.begin(beginInput(requestId));
    const { result, json } = issuedResult(requestId, 112_000);
    expect(Buffer.byteLength(json)).toBeGreaterThan(150_000);

    const stored = await ledger.recordOutcome(record, result, json);
    const reread = await ledger.get(requestId);
    expect(reread?.resultJson).toBe(json);
    expect(Buffer.from(reread!.resultJson!, 'utf8').equals(Buffer.from(json, 'utf8'))).toBe(true);
    expect(reread).toEqual(stored);

    // The raw entity really is chunked (no single property could hold it).
    const raw = await createTableClient(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      mainTable,
    ).getEntity<Record<string, unknown>>(requestId, 'request');
    expect(raw.resultChunks).toBe(5);
    expect(typeof raw.result_4).toBe('string');
  });

  it(`keeps only the latest ${MAX_LEDGER_EVENTS} events`, async () => {
    const requestId = newRequestId();
    let { record } = await ledger.begin(beginInput(requestId));
    const total = MAX_LEDGER_EVENTS + 5;
    for (let index = 1; index <= total; index++) {
      record = await ledger.recordEvent(record, `reconciliation step ${index}`);
    }
    const stored = (await ledger.get(requestId)) as LedgerRecord;
    expect(stored.events).toHaveLength(MAX_LEDGER_EVENTS);
    expect(stored.events[0]).toBe('reconciliation step 6');
    expect(stored.events.at(-1)).toBe(`reconciliation step ${total}`);
    expect(stored).toEqual(record);
  });

  it('creates the table again when it has been deleted under a running ledger', async () => {
    const tableName = newTableName();
    const own = createRequestLedger(azurite.connectionString, tableName);
    const first = newRequestId();
    await own.begin(beginInput(first));
    await createTableClient(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      tableName,
    ).deleteTable();

    await expect(own.get(first)).resolves.toBeUndefined();
    const second = newRequestId();
    await expect(own.begin(beginInput(second))).resolves.toMatchObject({ created: true });
    await expect(own.get(second)).resolves.toMatchObject({ requestId: second, state: 'received' });
  });
});

import { randomBytes } from 'node:crypto';
import { TABLE_STRING_MAX_CHARS } from '../../../shared/ledger/chunking';
import {
  LEDGER_ROW_KEY,
  MAX_EVENT_CHARS,
  MAX_LEDGER_EVENTS,
  appendEvent,
  assertValidPartitionKey,
  fromEntity,
  toEntity,
  truncateText,
} from '../../../shared/ledger/entity';
import type { LedgerRecord } from '../../../shared/ledger/types';

function withoutProperty(source: Readonly<Record<string, unknown>>, name: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(source).filter(([key]) => key !== name));
}

/** A stored record: it has an ETag. */
type StoredRecord = LedgerRecord & { etag: string };

function minimalRecord(overrides: Partial<StoredRecord> = {}): StoredRecord {
  return {
    requestId: 'req-1',
    requestHash: 'a'.repeat(64),
    state: 'received',
    profileOid: '2.16.840.1.113733.1.16.1.1.2.3.4',
    caHost: 'pki-ws.symauth.com',
    createdAt: '2026-01-02T03:04:05.000Z',
    updatedAt: '2026-01-02T03:04:05.000Z',
    events: [],
    etag: 'W/"datetime\'2026-01-02T03%3A04%3A05Z\'"',
    ...overrides,
  };
}

function fullRecord(resultJson: string): StoredRecord {
  return minimalRecord({
    state: 'issued',
    updatedAt: '2026-01-02T03:05:00.000Z',
    enrollment: {
      attempt: 2,
      clientTransactionId: 'ctid-2',
      publicKeySha256: 'b'.repeat(64),
      startedAt: '2026-01-02T03:04:30.000Z',
      seatId: 'device-42',
    },
    lastError: { code: 'CA_UNAVAILABLE', message: 'HTTP 503 from the CA' },
    serialNumber: '1A2B3C',
    thumbprint: 'C'.repeat(40),
    resultJson,
    events: ['searchCertificate found no certificate for the key', 'enrolled again (attempt 2)'],
  });
}

describe('ledger entity layout', () => {
  it('round-trips a full record (enrollment, last error, outcome, 150 KB result, events) exactly', () => {
    const resultJson = JSON.stringify({ pfx: randomBytes(114_000).toString('base64'), subject: 'CN=Zoë ✓' });
    const record = fullRecord(resultJson);
    const entity = toEntity(record);
    expect(fromEntity(entity, record.etag)).toEqual(record);
    expect(fromEntity(entity, record.etag).resultJson).toBe(resultJson);
  });

  it('round-trips a minimal record without inventing optional fields', () => {
    const record = minimalRecord();
    const back = fromEntity(toEntity(record), record.etag);
    expect(back).toEqual(record);
    expect(Object.keys(back).sort()).toEqual(Object.keys(record).sort());
  });

  it('keys the entity by requestId and "request", keeps every string under the property limit, stores no etag', () => {
    const resultJson = 'r'.repeat(150_000);
    const entity = toEntity(fullRecord(resultJson));
    expect(entity.partitionKey).toBe('req-1');
    expect(entity.rowKey).toBe(LEDGER_ROW_KEY);
    expect(entity.resultChunks).toBe(5);
    expect(Object.keys(entity).filter((name) => /^result_\d+$/.test(name))).toHaveLength(5);
    expect(entity).not.toHaveProperty('etag');
    expect(entity.events_0).toBe(JSON.stringify(fullRecord('').events));
    const longest = Math.max(...Object.values(entity).map((value) => String(value).length));
    expect(longest).toBeLessThanOrEqual(TABLE_STRING_MAX_CHARS);
  });

  it('refuses a record that would exceed the 1 MiB entity limit, before any write', () => {
    expect(() => toEntity(fullRecord('x'.repeat(600_000)))).toThrow(
      /above the Table entity limit of 1048576/,
    );
  });

  it('names the property of a malformed stored entity', () => {
    const entity = toEntity(fullRecord('{}'));
    expect(() => fromEntity({ ...entity, state: 'lost' }, 'e')).toThrow(/req-1 is malformed: state/);
    const withoutHash = withoutProperty(entity, 'requestHash');
    expect(() => fromEntity(withoutHash, 'e')).toThrow(/malformed: requestHash/);
    expect(() => fromEntity({ ...entity, events_0: '{"a":1}' }, 'e')).toThrow(/malformed: events/);
    expect(() => fromEntity({ ...entity, events_0: '[1]' }, 'e')).toThrow(/malformed: events/);
    const withoutChunk = withoutProperty(entity, 'result_0');
    expect(() => fromEntity(withoutChunk, 'e')).toThrow(/malformed: result: property result_0/);
    expect(() => fromEntity({ ...entity, enrollmentAttempt: 0 }, 'e')).toThrow(/enrollmentAttempt/);
  });
});

describe('assertValidPartitionKey', () => {
  it('accepts every character of the contract requestId alphabet', () => {
    expect(() =>
      assertValidPartitionKey('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-'),
    ).not.toThrow();
  });

  it.each([
    ['/', '002f'],
    ['\\', '005c'],
    ['#', '0023'],
    ['?', '003f'],
    ['\u0000', '0000'],
    ['\t', '0009'],
    ['\u001f', '001f'],
    ['\u007f', '007f'],
    ['\u009f', '009f'],
  ])('refuses %j, which Table keys forbid', (character, code) => {
    expect(() => assertValidPartitionKey(`req${character}1`)).toThrow(`U+${code}`);
  });

  it('refuses an empty or oversized id', () => {
    expect(() => assertValidPartitionKey('')).toThrow(/1–256 characters/);
    expect(() => assertValidPartitionKey('a'.repeat(257))).toThrow(/1–256 characters/);
  });
});

describe('events and long texts', () => {
  it(`keeps the latest ${MAX_LEDGER_EVENTS} events, in order`, () => {
    let events: string[] = [];
    for (let index = 1; index <= MAX_LEDGER_EVENTS + 5; index++)
      events = appendEvent(events, `event ${index}`);
    expect(events).toHaveLength(MAX_LEDGER_EVENTS);
    expect(events[0]).toBe('event 6');
    expect(events.at(-1)).toBe(`event ${MAX_LEDGER_EVENTS + 5}`);
  });

  it('cuts an over-long event and marks the cut', () => {
    const [event] = appendEvent([], 'e'.repeat(MAX_EVENT_CHARS * 3));
    expect(event).toHaveLength(MAX_EVENT_CHARS);
    expect(event!.endsWith('…')).toBe(true);
  });

  it('truncates without leaving half a surrogate pair', () => {
    expect(truncateText('short', 10)).toBe('short');
    expect(truncateText('abcdefgh', 5)).toBe('abcd…');
    expect(truncateText(`abc\u{1F600}def`, 5)).toBe('abc…');
  });
});

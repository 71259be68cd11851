/** The parts of the Table ledger that need no storage service (the rest: test/integration/ledger). */
import {
  createRequestLedger,
  isLocalEmulatorEndpoint,
  storageErrorOf,
} from '../../../shared/ledger/tableLedger';
import { LedgerStateError, type LedgerRecord } from '../../../shared/ledger/types';
import type { FailedResult } from '../../../shared/contract/types';

const KEY = Buffer.from('not a real account key').toString('base64');

function connectionString(tableEndpoint: string): string {
  return `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};TableEndpoint=${tableEndpoint};`;
}

describe('isLocalEmulatorEndpoint', () => {
  it.each([
    'http://127.0.0.1:10002/devstoreaccount1',
    'http://localhost:41234/devstoreaccount1',
    'http://LOCALHOST/devstoreaccount1',
    'http://[::1]:10002/devstoreaccount1',
  ])('allows plain http to the emulator at %s', (url) => {
    expect(isLocalEmulatorEndpoint(url)).toBe(true);
  });

  it.each([
    'https://127.0.0.1:10002/devstoreaccount1',
    'https://acct.table.core.windows.net',
    'http://acct.table.core.windows.net',
    'http://127.0.0.1.example.com/devstoreaccount1',
    'http://localhost.example.com/x',
    'not a url',
  ])('requires https for %s', (url) => {
    expect(isLocalEmulatorEndpoint(url)).toBe(false);
  });
});

describe('storageErrorOf', () => {
  it('reads the status and the Table error code of a RestError-shaped error', () => {
    const error = Object.assign(new Error('x'), { statusCode: 404, details: { errorCode: 'TableNotFound' } });
    expect(storageErrorOf(error)).toEqual({ statusCode: 404, errorCode: 'TableNotFound' });
  });

  it('falls back to the error code of a network error and ignores what is not an error', () => {
    expect(storageErrorOf(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toEqual({
      statusCode: undefined,
      errorCode: 'ECONNRESET',
    });
    expect(storageErrorOf('boom')).toEqual({});
    expect(storageErrorOf(null)).toEqual({});
    expect(storageErrorOf({ statusCode: '409' })).toEqual({ statusCode: undefined, errorCode: undefined });
  });
});

describe('createRequestLedger', () => {
  it('refuses a table name the service would refuse', () => {
    const cs = connectionString('https://acct.table.core.windows.net');
    expect(() => createRequestLedger(cs, 'pk')).toThrow(/3–63 letters and digits/);
    expect(() => createRequestLedger(cs, 'pkcs-requests')).toThrow(/pkcs-requests/);
    expect(() => createRequestLedger(cs, '1requests')).toThrow(/starting with a letter/);
    expect(() => createRequestLedger(cs)).not.toThrow();
  });

  it('does not allow plain http to a remote account (refused before any connection is made)', async () => {
    const ledger = createRequestLedger(connectionString('http://acct.table.example.com'), 'pkcsrequests');
    await expect(ledger.get('req-1')).rejects.toThrow(/allowInsecureConnection is false/);
  });

  it('refuses a requestId that cannot be a Table key before calling the service', async () => {
    const ledger = createRequestLedger(connectionString('http://acct.table.example.com'));
    await expect(ledger.get('a/b')).rejects.toThrow(/U\+002f/);
    await expect(
      ledger.begin({ requestId: 'a#b', requestHash: 'h', profileOid: '1.2', caHost: 'ca' }),
    ).rejects.toThrow(/U\+0023/);
  });

  it('never replaces a stored outcome or enrolls after one (checked before calling the service)', async () => {
    const ledger = createRequestLedger(connectionString('http://acct.table.example.com'));
    const issued: LedgerRecord = {
      requestId: 'req-1',
      requestHash: 'h',
      state: 'issued',
      profileOid: '1.2',
      caHost: 'ca',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      events: [],
      etag: 'W/"1"',
    };
    const failed: FailedResult = {
      schemaVersion: 1,
      requestId: 'req-1',
      completedAt: '2026-01-01T00:00:00.000Z',
      status: 'failed',
      error: { code: 'GAVE_UP', message: 'm', remedy: 'r', retryable: false },
    };
    await expect(ledger.recordOutcome(issued, failed, '{}')).rejects.toBeInstanceOf(LedgerStateError);
    await expect(
      ledger.recordEnrollment(
        { ...issued, state: 'failed' },
        { attempt: 1, clientTransactionId: 'c', publicKeySha256: 'k', startedAt: 's' },
      ),
    ).rejects.toThrow(/is failed: recordEnrollment is not allowed/);
    await expect(
      ledger.recordOutcome({ ...issued, state: 'enrolling' }, { ...failed, requestId: 'req-2' }, '{}'),
    ).rejects.toThrow(/request req-2 cannot be recorded on request req-1/);
  });
});

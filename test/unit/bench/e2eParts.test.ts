import {
  parseMachineBusyTicks,
  parseStatCpuTicks,
  parseStatusKb,
  parseTraceGcLine,
} from '../../../bench/e2e/procStats';
import { classifyStorageRequest, countDelta, splitCounts } from '../../../bench/e2e/storageProxy';

describe('reading /proc', () => {
  it('takes utime + stime after the name, even a name with spaces and parentheses', () => {
    const stat = '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 9 0 0 0 150 25 0 0 20 0 11 0 1 2 3';
    expect(parseStatCpuTicks(stat)).toBe(175);
  });

  it("adds up the machine's busy ticks from /proc/stat: user, nice, system, irq, softirq, steal", () => {
    const stat = 'cpu  1000 20 300 90000 400 5 6 7 0 0\ncpu0 500 10 150 45000 200 2 3 3 0 0\n';
    expect(parseMachineBusyTicks(stat)).toBe(1000 + 20 + 300 + 5 + 6 + 7);
    expect(() => parseMachineBusyTicks('intr 1 2 3')).toThrow(/unreadable/);
  });

  it('reads a kB field of status in bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    expect(parseStatusKb(status, 'VmHWM')).toBe(204800 * 1024);
    expect(parseStatusKb(status, 'RssAnon')).toBeUndefined();
  });

  it('reads the heap after a collection from a --trace-gc line', () => {
    const line =
      '[123:0x5f]     5123 ms: Scavenge 40.1 (52.3) -> 38.5 (53.0) MB, 1.2 / 0.0 ms  (average mu = 0.99) allocation failure;';
    expect(parseTraceGcLine(line)).toEqual({ usedBytes: 38.5 * 2 ** 20, committedBytes: 53 * 2 ** 20 });
    expect(parseTraceGcLine('host: listening')).toBeUndefined();
  });
});

describe('the storage request classes', () => {
  it('names queue operations', () => {
    const q = (method: string, url: string) => classifyStorageRequest('queue', method, url).operation;
    expect(q('GET', '/devstoreaccount1/requests/messages?numofmessages=8&visibilitytimeout=30')).toBe(
      'queue receive',
    );
    expect(q('GET', '/devstoreaccount1/requests/messages?peekonly=true')).toBe('queue peek');
    expect(q('POST', '/devstoreaccount1/results/messages')).toBe('queue put');
    expect(q('DELETE', '/devstoreaccount1/requests/messages/abc?popreceipt=x')).toBe('queue delete');
    expect(q('PUT', '/devstoreaccount1/requests/messages/abc?popreceipt=x&visibilitytimeout=30')).toBe(
      'queue update',
    );
    expect(q('PUT', '/devstoreaccount1/requests')).toBe('queue create');
    expect(classifyStorageRequest('queue', 'GET', '/devstoreaccount1/requests/messages').resource).toBe(
      'requests',
    );
  });

  it('names table operations, conditional or not', () => {
    const t = (method: string, url: string, headers = {}) =>
      classifyStorageRequest('table', method, url, headers);
    const entity = "/devstoreaccount1/pkcsrequests(PartitionKey='a',RowKey='b')";
    expect(t('GET', entity)).toEqual({ operation: 'table get', resource: 'pkcsrequests' });
    expect(t('GET', '/devstoreaccount1/pkcsrequests()?$filter=x').operation).toBe('table query');
    expect(t('POST', '/devstoreaccount1/pkcsrequests').operation).toBe('table insert');
    expect(t('PUT', entity, { 'if-match': '*' }).operation).toBe('table update');
    expect(t('PUT', entity).operation).toBe('table upsert');
    expect(t('PATCH', entity, { 'if-match': 'W/"x"' }).operation).toBe('table merge');
    expect(t('MERGE', entity).operation).toBe('table upsert-merge');
    expect(t('POST', '/devstoreaccount1/Tables').operation).toBe('table create');
  });

  it('tells polling from work, and writes from reads', () => {
    const before = new Map([['queue receive (empty) requests', 3]]);
    const after = new Map([
      ['queue receive (empty) requests', 10],
      ['queue receive requests', 1],
      ['table get pkcsrequests', 2],
      ['table insert pkcsrequests', 1],
      ['queue put results', 1],
    ]);
    const delta = countDelta(before, after);
    expect(delta.get('queue receive (empty) requests')).toBe(7);
    expect(splitCounts(delta)).toEqual({ polling: 7, perRequest: 5, writes: 2 });
  });
});

/** The seat reservations of the Table ledger (shared/ledger/seatUsage.ts), over the in-memory table. */
import { seatPartitionKey, type SeatReservationRequest } from '../../../shared/ledger/seatUsage';
import { InMemoryRequestLedger, InMemoryTable } from '../../support/inMemoryLedger';

const DAY = 24 * 60 * 60 * 1000;
const AT = new Date('2026-12-05T12:00:00.000Z');
const seat = { caHost: 'pki-ws.symauth.com', seatId: 'IWUser0@contoso.com' };

let table: InMemoryTable;
let ledger: InMemoryRequestLedger;

const reserve = (requestId: string, changes: Partial<SeatReservationRequest> = {}) =>
  ledger.seats.reserve({ seat, requestId, at: AT, windowMs: DAY, limit: 2, ...changes });
const held = (): string[] => table.partition(seatPartitionKey(seat)).map((entity) => entity.rowKey);

beforeEach(() => {
  table = new InMemoryTable();
  ledger = new InMemoryRequestLedger(table);
});

describe('seat reservations', () => {
  it('are keyed by a hash of the CA host and the seat, never by the address', () => {
    const key = seatPartitionKey(seat);
    expect(key).toMatch(/^seat@[0-9a-f]{64}$/);
    expect(seatPartitionKey({ caHost: 'PKI-WS.symauth.com', seatId: 'iwuser0@CONTOSO.com' })).toBe(key);
    expect(seatPartitionKey({ ...seat, caHost: 'pki-ws.example.test' })).not.toBe(key);
  });

  it('admit up to the limit, then refuse and take the refused reservation back', async () => {
    expect(await reserve('r-1')).toEqual({ admitted: true });
    expect(await reserve('r-2', { at: new Date(AT.getTime() + 1000) })).toEqual({ admitted: true });
    expect(await reserve('r-3')).toEqual({
      admitted: false,
      held: 2,
      freeAt: new Date(AT.getTime() + DAY),
    });
    expect(held()).toEqual(['r-1', 'r-2']);
  });

  it('reuse the reservation of a requestId that holds one (a redelivery counts once)', async () => {
    await reserve('r-1');
    await reserve('r-2');
    expect(await reserve('r-1')).toEqual({ admitted: true });
    expect(held()).toEqual(['r-1', 'r-2']);
  });

  it('never admit two requests racing for the last place (both write, then both count)', async () => {
    await reserve('r-1');
    const [a, b] = await Promise.all([reserve('r-2'), reserve('r-3')]);
    expect([a, b].filter((outcome) => outcome.admitted)).toHaveLength(0);
    expect(held()).toEqual(['r-1']);
  });

  it('admit a request admitted before without counting, and write its reservation if it had none', async () => {
    await reserve('r-1');
    await reserve('r-2');
    expect(await reserve('r-0', { admittedBefore: true })).toEqual({ admitted: true });
    expect(held()).toEqual(['r-1', 'r-2', 'r-0']);
  });

  it('stop counting reservations older than the window, and remove them', async () => {
    await reserve('r-1');
    await reserve('r-2');
    expect(await reserve('r-3', { at: new Date(AT.getTime() + DAY) })).toEqual({ admitted: true });
    expect(held()).toEqual(['r-3']);
  });

  it('are released without complaint, also when there is none', async () => {
    await reserve('r-1');
    await ledger.seats.release(seat, 'r-1');
    await ledger.seats.release(seat, 'r-1');
    expect(held()).toEqual([]);
  });
});

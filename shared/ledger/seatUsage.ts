/**
 * Seat usage (MAX_CERTIFICATES_PER_SEAT_PER_DAY), in the ledger's table beside the request records: one
 * reservation per (seat, requestId) that was let through to enroll. Counted from our own records, without a
 * round trip to the CA; a seat licence is spent at the CA, so the count is taken before enrolling.
 *
 *   PartitionKey = "seat@" + hex SHA-256 of "<CA host>\n<seat id>" (both lower case): the seat id, an e-mail
 *   address as a rule, is never a key in clear ("@" is in no requestId or revocationId key);
 *   RowKey = requestId; reservedAt (ISO time).
 *
 * Reserve first, then count: of two requests racing for a seat's last certificate the later count sees both
 * reservations, so they can never both pass (at worst both are refused). A refused request removes its own
 * reservation again; a redelivery of the same requestId finds its reservation and reuses it.
 */
import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { assertValidPartitionKey } from './entity';
import { EnsuredTable, storageErrorOf } from './ensuredTable';

export interface SeatRef {
  /** The CA host the seat belongs to (each DigiCert account has its own seats). */
  caHost: string;
  seatId: string;
}

export interface SeatReservationRequest {
  seat: SeatRef;
  requestId: string;
  at: Date;
  /** How far back reservations count (24 h for a per-day limit). */
  windowMs: number;
  /** Most reservations a seat may hold in the window, this one included. */
  limit: number;
  /**
   * This request was admitted before (an enrollment was already sent for it): its reservation is kept (or
   * written again, for one made before seats were counted) and it is not counted a second time.
   */
  admittedBefore?: boolean;
}

export type SeatReservation =
  | { admitted: true }
  /** Refused: `held` reservations of other requests in the window; below the limit again from `freeAt`. */
  | { admitted: false; held: number; freeAt: Date };

export interface SeatUsage {
  reserve(input: SeatReservationRequest): Promise<SeatReservation>;
  /** Gives a reservation back (a request that ended with nothing spent at the CA); a missing one is fine. */
  release(seat: SeatRef, requestId: string): Promise<void>;
}

/** The Table key of a seat: a hash, so that no personal data is a key in clear. */
export function seatPartitionKey(seat: SeatRef): string {
  const name = `${seat.caHost.toLowerCase()}\n${seat.seatId.toLowerCase()}`;
  return `seat@${createHash('sha256').update(name, 'utf8').digest('hex')}`;
}

type ReservationEntity = { partitionKey: string; rowKey: string; reservedAt: string };

export class TableSeatUsage implements SeatUsage {
  constructor(
    private readonly client: TableClient,
    private readonly table: EnsuredTable = new EnsuredTable(client),
  ) {}

  async reserve(input: SeatReservationRequest): Promise<SeatReservation> {
    assertValidPartitionKey(input.requestId);
    const partitionKey = seatPartitionKey(input.seat);
    const reservation: ReservationEntity = {
      partitionKey,
      rowKey: input.requestId,
      reservedAt: input.at.toISOString(),
    };
    const created = await this.create(reservation);
    if (input.admittedBefore) return { admitted: true };

    const since = input.at.getTime() - input.windowMs;
    const held: number[] = [];
    const stale: string[] = [];
    for (const other of await this.list(partitionKey)) {
      if (other.rowKey === input.requestId) continue;
      const reservedAt = Date.parse(other.reservedAt);
      if (reservedAt <= since) stale.push(other.rowKey);
      // An unreadable time counts as now: a reservation is never ignored because of its shape.
      else held.push(Number.isNaN(reservedAt) ? input.at.getTime() : reservedAt);
    }
    // Housekeeping, best effort: a seat's partition holds about a day of reservations, not years of them.
    await Promise.all(stale.map((rowKey) => this.delete(partitionKey, rowKey).catch(() => undefined)));
    if (held.length < input.limit) return { admitted: true };
    // A reservation this requestId held before the count is not taken away: an earlier delivery may rely on it.
    if (created) await this.delete(partitionKey, input.requestId);
    held.sort((a, b) => a - b);
    return {
      admitted: false,
      held: held.length,
      freeAt: new Date(held[held.length - input.limit]! + input.windowMs),
    };
  }

  async release(seat: SeatRef, requestId: string): Promise<void> {
    assertValidPartitionKey(requestId);
    await this.delete(seatPartitionKey(seat), requestId);
  }

  /** Writes the reservation; false when this requestId holds one already (a redelivery reuses it). */
  private async create(reservation: ReservationEntity): Promise<boolean> {
    try {
      await this.table.run(() => this.client.createEntity(reservation));
      return true;
    } catch (error) {
      if (storageErrorOf(error).statusCode === 409) return false;
      throw error;
    }
  }

  private list(partitionKey: string): Promise<{ rowKey: string; reservedAt: string }[]> {
    return this.table.run(async () => {
      const found: { rowKey: string; reservedAt: string }[] = [];
      const entities = this.client.listEntities<{ reservedAt?: unknown }>({
        queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
      });
      for await (const entity of entities) {
        if (entity.rowKey === undefined) continue;
        found.push({
          rowKey: entity.rowKey,
          reservedAt: typeof entity.reservedAt === 'string' ? entity.reservedAt : '',
        });
      }
      return found;
    });
  }

  private async delete(partitionKey: string, rowKey: string): Promise<void> {
    try {
      await this.table.run(() => this.client.deleteEntity(partitionKey, rowKey));
    } catch (error) {
      if (storageErrorOf(error).statusCode !== 404) throw error;
    }
  }
}

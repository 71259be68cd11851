/**
 * MAX_CERTIFICATES_PER_SEAT_PER_DAY in the pipeline: a request is admitted to its seat (a reservation in the
 * ledger) before its enrollment goes to the CA, and gives the reservation back when it ends without having
 * spent a seat licence there. The counting is the ledger's (shared/ledger/seatUsage.ts), the refusal's words
 * the guardrail's (shared/guardrails/seatLimit.ts).
 */
import { NO_SEAT_LIMIT, SEAT_LIMIT_WINDOW_MS, seatLimitReached } from '../guardrails/seatLimit';
import type { SeatRef } from '../ledger/seatUsage';
import type { LedgerRecord, RequestLedger } from '../ledger/types';

export class SeatLimit {
  constructor(
    private readonly limit: number,
    private readonly ledger: RequestLedger,
  ) {}

  /**
   * Reserves the seat for the request, or throws REQUEST_NOT_ALLOWED when the seat is at the limit. Returns the
   * seat reserved; undefined when nothing is counted (no limit, or a profile without a seat).
   */
  async admit(record: LedgerRecord, seatId: string | undefined, at: Date): Promise<SeatRef | undefined> {
    if (this.limit === NO_SEAT_LIMIT || seatId === undefined) return undefined;
    const seat = { caHost: record.caHost, seatId };
    const reservation = await this.ledger.seats.reserve({
      seat,
      requestId: record.requestId,
      at,
      windowMs: SEAT_LIMIT_WINDOW_MS,
      limit: this.limit,
      // An attempt was sent before (this is a redelivery or a new attempt): the request was admitted then.
      admittedBefore: record.enrollment !== undefined,
    });
    if (!reservation.admitted) throw seatLimitReached(this.limit, reservation);
    return seat;
  }

  /**
   * Gives the reservation of a request that ends failed back, when no seat licence can have been spent: no
   * enrollment was sent, or the CA said no to the only one. After any other attempt a certificate may have
   * been issued (and revoked since), so the reservation keeps counting. `reserved`: the seat this delivery
   * reserved, when its record does not name it yet.
   */
  async releaseUnspent(record: LedgerRecord, reserved?: SeatRef): Promise<void> {
    if (this.limit === NO_SEAT_LIMIT) return;
    const { enrollment } = record;
    const unspent =
      enrollment === undefined || (enrollment.attempt === 1 && enrollment.nothingIssued === true);
    const seatId = enrollment?.seatId;
    const seat = reserved ?? (seatId === undefined ? undefined : { caHost: record.caHost, seatId });
    if (!unspent || seat === undefined) return;
    // Best effort: a reservation left behind only counts against its seat for a day.
    await this.ledger.seats.release(seat, record.requestId).catch(() => undefined);
  }
}

/**
 * MAX_CERTIFICATES_PER_SEAT_PER_DAY (contract: REQUEST_NOT_ALLOWED): every certificate takes a DigiCert seat
 * licence, so whoever can write to the request queue must not be able to spend them without bound. The count
 * is kept in the ledger (shared/ledger/seatUsage.ts); this is the rule and its words. Pure.
 */
import { BrokerError } from '../contract/errors';

/** The limit is per day: reservations younger than this count. */
export const SEAT_LIMIT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** 0: no limit (and nothing counted). */
export const NO_SEAT_LIMIT = 0;

/** The refusal of a request whose seat holds `held` other reservations in the window, `limit` or more. */
export function seatLimitReached(limit: number, refused: { held: number; freeAt: Date }): BrokerError {
  // The seat is not named: it is a person's e-mail address as a rule, and the requester knows whose it is.
  return new BrokerError(
    'REQUEST_NOT_ALLOWED',
    `The DigiCert seat of this request has ${refused.held} certificates issued or under way in the last 24 hours; MAX_CERTIFICATES_PER_SEAT_PER_DAY allows ${limit} (per-seat limit).`,
    {
      remedy: `Send the request again with a new requestId from ${refused.freeAt.toISOString()}, when the seat is below the limit again, or raise MAX_CERTIFICATES_PER_SEAT_PER_DAY (0: no limit) if this seat really needs more certificates a day.`,
    },
  );
}

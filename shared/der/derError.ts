/**
 * A malformed encoding, from either reader. Callers turn it into the BrokerError that fits where the bytes
 * came from, with its message.
 */
export class DerError extends Error {
  /** Byte offset (0-based) where the problem was found, when the reader reports it (the strict one does). */
  readonly offset?: number;

  /** The message is `problem`, followed by " (at byte offset N)" when `offset` is given. */
  constructor(problem: string, offset?: number) {
    super(offset === undefined ? problem : `${problem} (at byte offset ${offset})`);
    this.name = 'DerError';
    if (offset !== undefined) this.offset = offset;
  }
}

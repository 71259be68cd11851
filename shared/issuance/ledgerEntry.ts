/** The ledger record of the request in hand, kept current across the steps that write it. */
import type { LedgerRecord, RequestLedger } from '../ledger/types';
import type { ReconciliationTelemetry, Telemetry } from '../telemetry/telemetry';

export class LedgerEntry {
  constructor(
    private readonly ledger: RequestLedger,
    private readonly telemetry: Telemetry,
    public record: LedgerRecord,
  ) {}

  /** Records an event for the operator (a deferral, an attempt that could not be settled). */
  async note(text: string): Promise<void> {
    this.record = await this.ledger.recordEvent(this.record, text);
  }

  /** Records what reconciliation did, in the ledger and in telemetry. */
  async reconciled(event: ReconciliationTelemetry, text: string): Promise<void> {
    this.telemetry.trackReconciliation(event);
    this.record = await this.ledger.recordEvent(this.record, text);
  }
}

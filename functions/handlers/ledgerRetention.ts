/**
 * The timer's handler: deletes the ledger's entities not written for LEDGER_RETENTION_DAYS (results kept for
 * replay carry personal data and the encrypted PFX; no message can come back for them by then). Registered by
 * functions/purgeLedger.ts.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { getBroker } from '../../shared/broker';

export async function purgeLedgerEntities(_timer: Timer, context: InvocationContext): Promise<void> {
  const broker = getBroker();
  const report = await broker.purgeLedger(new Date());
  if (report === undefined) {
    context.log('ledger retention: LEDGER_RETENTION_DAYS is 0, every record is kept');
    return;
  }
  context.log(
    `ledger retention: deleted ${report.deleted} entities older than ${broker.settings.ledgerRetentionDays} days` +
      (report.kept > 0 ? `; ${report.kept} written again meanwhile, kept` : ''),
  );
}

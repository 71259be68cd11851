/**
 * LEDGER_RETENTION_DAYS: the ledger keeps results for replay and personal data with them (e-mail, names,
 * the encrypted PFX); past the retention nothing can come back for them (a queue message lives 7 days at most),
 * so every entity of the ledger table not written for that long is deleted.
 */
import { odata, type TableClient } from '@azure/data-tables';
import { storageErrorOf } from './tableLedger';

export interface PurgeReport {
  /** Entities deleted. */
  deleted: number;
  /** Entities written again between the listing and their deletion: kept, for the next run. */
  kept: number;
}

/** The cut-off: entities last written before it are purged. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * 24 * 3600 * 1000);
}

/**
 * Deletes every entity of the table last written before `cutoff` (the service's own Timestamp, so no clock of
 * ours decides). Each delete is conditioned on the ETag listed: an entity written meanwhile stays.
 */
export async function purgeLedger(table: TableClient, cutoff: Date): Promise<PurgeReport> {
  const report: PurgeReport = { deleted: 0, kept: 0 };
  const listing = table.listEntities<Record<string, unknown>>({
    queryOptions: { filter: odata`Timestamp lt ${cutoff}`, select: ['PartitionKey', 'RowKey'] },
  });
  try {
    for await (const entity of listing) await deleteUnlessWritten(table, entity, report);
  } catch (error) {
    // No table yet: nothing was ever recorded, so nothing is old.
    if (storageErrorOf(error).statusCode !== 404) throw error;
  }
  return report;
}

async function deleteUnlessWritten(
  table: TableClient,
  { partitionKey, rowKey, etag }: { partitionKey?: string; rowKey?: string; etag: string },
  report: PurgeReport,
): Promise<void> {
  if (partitionKey === undefined || rowKey === undefined) return; // selected, so always present
  try {
    await table.deleteEntity(partitionKey, rowKey, { etag });
    report.deleted += 1;
  } catch (error) {
    const { statusCode } = storageErrorOf(error);
    // 412: written again after the listing (it is not old any more); 404: another run deleted it first.
    if (statusCode === 412) report.kept += 1;
    else if (statusCode !== 404) throw error;
  }
}

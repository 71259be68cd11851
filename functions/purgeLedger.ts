/** Timer: daily, the ledger's entities older than LEDGER_RETENTION_DAYS deleted (see handlers/ledgerRetention.ts). */
import { app } from '@azure/functions';
import { ledgerRetentionSchedule } from './handlers/bindings';
import { purgeLedgerEntities } from './handlers/ledgerRetention';

app.timer('purgeLedger', { schedule: ledgerRetentionSchedule, handler: purgeLedgerEntities });

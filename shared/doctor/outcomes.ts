/** Building check outcomes: failures from BrokerErrors (code, message, remedy, seed row) and plain errors. */
import { isBrokerError } from '../contract/errors';
import {
  formatTroubleshootingRow,
  troubleshootingRowFor,
  type TroubleshootingRowRef,
} from './troubleshooting';
import type { CheckOutcome, CheckStatus } from './types';

export function withRow(outcome: CheckOutcome, row: TroubleshootingRowRef | undefined): CheckOutcome {
  if (row === undefined) return outcome;
  return { ...outcome, troubleshootingRow: formatTroubleshootingRow(row), troubleshootingRowId: row.id };
}

/** The first line of an error's message, without anything that is not the error's own words. */
export function errorText(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const record = error as { name?: unknown; code?: unknown; message?: unknown; statusCode?: unknown };
    const message =
      typeof record.message === 'string' ? (record.message.split('\n')[0] ?? '') : String(error);
    const code = typeof record.code === 'string' ? record.code : undefined;
    const status = typeof record.statusCode === 'number' ? String(record.statusCode) : undefined;
    const label = [status, code].filter((part) => part !== undefined).join(' ');
    return label === '' || message.includes(label) ? message : `${label}: ${message}`;
  }
  return String(error);
}

export interface FailureOptions {
  /** The row when the error alone does not tell (the doctor knows which step failed). */
  row?: TroubleshootingRowRef;
  remedy?: string;
  status?: Extract<CheckStatus, 'fail' | 'warn'>;
  notes?: string[];
}

/** A failed check from what was thrown: a BrokerError keeps its code, message, remedy and seed row. */
export function failureOutcome(error: unknown, options: FailureOptions = {}): CheckOutcome {
  const status = options.status ?? 'fail';
  if (isBrokerError(error)) {
    const caSaid =
      error.caMessage !== undefined && !error.message.includes(error.caMessage)
        ? ` (the CA said: ${error.caMessage})`
        : '';
    const outcome: CheckOutcome = {
      status,
      detail: `${error.message}${caSaid}`,
      remedy: options.remedy ?? error.remedy,
      errorCode: error.code,
    };
    if (options.notes !== undefined) outcome.notes = options.notes;
    return withRow(outcome, options.row ?? troubleshootingRowFor(error));
  }
  const outcome: CheckOutcome = { status, detail: errorText(error) };
  if (options.remedy !== undefined) outcome.remedy = options.remedy;
  if (options.notes !== undefined) outcome.notes = options.notes;
  return withRow(outcome, options.row);
}

export function daysBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / 86_400_000);
}

/** The doctor's report for people: one line per check, its details indented under it, then the verdict. */
import type { CheckReport, CheckStatus, DoctorReport } from './types';

const LABELS: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export const NO_ROW =
  "none (the connector's troubleshooting table has no row for this; the broker's own remedy below)";

function formatCheck(check: CheckReport, verbose: boolean): string[] {
  const lines = [`${LABELS[check.status]}  ${check.title}: ${check.detail}`];
  const indent = '      ';
  const showNotes = verbose || check.status === 'fail' || check.status === 'warn';
  if (showNotes) for (const note of check.notes ?? []) lines.push(`${indent}· ${note}`);
  if (check.status === 'fail' || check.status === 'warn') {
    if (check.troubleshootingRow !== undefined) lines.push(`${indent}seed row: ${check.troubleshootingRow}`);
    else if (check.status === 'fail') lines.push(`${indent}seed row: ${NO_ROW}`);
    if (check.remedy !== undefined) lines.push(`${indent}remedy:   ${check.remedy}`);
    if (check.errorCode !== undefined) lines.push(`${indent}code:     ${check.errorCode}`);
  }
  return lines;
}

export interface FormatOptions {
  /** Show the notes of passing checks too (default true). */
  verbose?: boolean;
}

export function formatDoctorReport(report: DoctorReport, options: FormatOptions = {}): string {
  const verbose = options.verbose ?? true;
  const { summary } = report;
  const lines = [
    `Doctor of the DigiCert PKCS broker: ${report.mode === 'full' ? 'all checks' : 'quick checks'}, ${report.startedAt}`,
    '',
    ...report.checks.flatMap((check) => formatCheck(check, verbose)),
    '',
    `${report.checks.length} checks: ${summary.pass} passed, ${summary.warn} warning(s), ${summary.fail} failed, ${summary.skip} skipped (${report.durationMs} ms) — ${report.ok ? 'OK' : 'FAILED'}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** 0 when nothing failed (warnings allowed), 1 otherwise. */
export function exitCodeOf(report: DoctorReport): number {
  return report.ok ? 0 : 1;
}

/** The soak report as text: a header with the settings, the checks as a table, the figures, then offenders. */
import { formatCounts, type SoakReport } from './audit';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function formatSoakReport(report: SoakReport, options: { detailsPerCheck?: number } = {}): string {
  const detailsPerCheck = options.detailsPerCheck ?? 20;
  const { settings, figures } = report;
  const host = settings.host;
  const lines: string[] = [];
  lines.push(
    `Soak: ${settings.requests} requests, fault rate ${settings.faultRate} (seed ${settings.seed}), ` +
      `${settings.killHostAt === null ? 'no host kill' : `host killed at ${Math.round(settings.killHostAt * 100)}% of the results`}`,
  );
  lines.push(
    `  faults: ${formatCounts(settings.faultMix as Record<string, number>)} (relative weights) on ` +
      `${settings.faultServices.join(', ')}; delays ${settings.faultDelayMs} ms`,
  );
  lines.push(
    `  host: CA_CONNECT_TIMEOUT_MS=${host.caConnectTimeoutMs} CA_REQUEST_TIMEOUT_MS=${host.caRequestTimeoutMs} CA_MAX_ATTEMPTS=${host.caMaxAttempts} ` +
      `CA_RETRY_BASE_DELAY_MS=${host.caRetryBaseDelayMs} QUEUE_VISIBILITY_TIMEOUT_SECONDS=${host.queueVisibilityTimeoutSeconds} ` +
      `QUEUE_MAX_DEQUEUE_COUNT=${host.queueMaxDequeueCount} CA_CIRCUIT_HALF_OPEN_MS=${host.caCircuitHalfOpenMs}, ` +
      `batch ${settings.hostBatchSize}` +
      Object.entries(settings.hostEnv)
        .map(([name, value]) => ` ${name}=${value}`)
        .join(''),
  );
  lines.push(
    `  submit: ${settings.concurrencySubmit} at a time, ` +
      `${settings.maxOutstanding === null ? 'all at once (burst)' : `at most ${settings.maxOutstanding} outstanding`}; ` +
      `timeout ${seconds(settings.timeoutMs)}; failures allowed: ${settings.allowedFailureCodes.join(', ')}`,
  );
  lines.push('');
  lines.push(
    ...table([
      ['check', 'result', ''],
      ...report.checks.map((entry) => [entry.name, entry.passed ? 'pass' : 'FAIL', entry.summary]),
    ]),
  );
  lines.push('');
  const latency = figures.latencyMs;
  const kill = figures.kill;
  lines.push(
    ...table([
      ['figure', 'value'],
      ['wall time (first submit → last first result)', seconds(figures.wallMs)],
      ['submitted', `${figures.submitted} in ${seconds(figures.submitMs)}`],
      ['throughput', `${figures.throughputPerSecond.toFixed(2)} results/s`],
      [
        'latency submit → result p50 / p95 / max',
        latency === null ? 'n/a' : `${latency.p50} / ${latency.p95} / ${latency.max} ms`,
      ],
      ['issued', String(figures.issued)],
      ['failed', formatCounts(figures.failedByCode)],
      ['repeated results (same id again)', String(figures.repeatedResults)],
      ['faults injected', `${figures.faultsInjected}: ${formatCounts(figures.faultsByKind)}`],
      ['CA requests', formatCounts(figures.caRequestsByService)],
      [
        'CA certificates',
        `${figures.caCertificates.issued} issued, ${figures.caCertificates.valid} VALID, ${figures.caCertificates.revoked} REVOKED` +
          (figures.caCertificates.revoked > 0
            ? ` (${formatCounts(figures.caCertificates.revocationReasons)})`
            : ''),
      ],
      ['strays revoked', String(figures.straysRevoked)],
      [
        'host kill',
        kill === null
          ? 'none'
          : `at ${seconds(kill.atMs)} after ${kill.resultsBefore} results (${kill.submittedBefore} submitted); restarted in ${kill.restartMs} ms`,
      ],
      ['failed deliveries (left for redelivery)', String(figures.failedDeliveries)],
      ['moved to the poison queue', String(figures.poisonMoves)],
      ['left in the queues', Number.isNaN(figures.leftInQueues) ? 'unknown' : String(figures.leftInQueues)],
    ]),
  );
  const failed = report.checks.filter((entry) => !entry.passed);
  for (const entry of failed) {
    lines.push('');
    lines.push(`FAIL ${entry.name}:`);
    for (const detail of entry.details.slice(0, detailsPerCheck)) lines.push(`  ${detail}`);
    if (entry.details.length > detailsPerCheck)
      lines.push(`  … ${entry.details.length - detailsPerCheck} more`);
  }
  if (report.logDir !== undefined) {
    lines.push('');
    lines.push(`host logs: ${report.logDir}`);
  }
  lines.push('');
  lines.push(
    report.passed ? 'SOAK PASSED' : `SOAK FAILED: ${failed.length} of ${report.checks.length} checks failed`,
  );
  return lines.join('\n');
}

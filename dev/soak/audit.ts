/**
 * The soak's audit: from what a run collected (the results, the CA's books, the host logs) to the report's
 * checks and figures. Pure, so every check can be tried on made-up data.
 */
import { normalizeSerial, type AccountAudit, type IssuedCertificate } from '../simulator/management';
import type { RandomFaultMix, SimulatorService, SimulatorStats } from '../simulator/server';
import { pemBody, readPublishedPem } from './messages';
import type { SoakHostSettings } from './settings';

export interface SoakCheck {
  name: string;
  passed: boolean;
  /** One line: counts, or the first offenders. */
  summary: string;
  /** Every offender, one per line (request ids, serials). */
  details: string[];
}

export interface LatencyFigures {
  p50: number;
  p95: number;
  max: number;
}

export interface SoakKill {
  /** Milliseconds after the first submit. */
  atMs: number;
  resultsBefore: number;
  submittedBefore: number;
  /** From the kill until the new host listened. */
  restartMs: number;
}

export interface SoakFigures {
  /** From the first submit to the last first result. */
  wallMs: number;
  submitted: number;
  submitMs: number;
  /** Distinct request ids answered per second of wallMs. */
  throughputPerSecond: number;
  /** Submit to the collector's receipt of the first result, in ms. */
  latencyMs: LatencyFigures | null;
  issued: number;
  failedByCode: Record<string, number>;
  /** Result messages beyond the first for a request id. */
  repeatedResults: number;
  faultsInjected: number;
  faultsByKind: Record<string, number>;
  caRequestsByService: Record<string, number>;
  caCertificates: {
    issued: number;
    valid: number;
    revoked: number;
    revocationReasons: Record<string, number>;
  };
  /** Certificates of our seats other than the one in the seat's issued result, revoked by the CA. */
  straysRevoked: number;
  kill: SoakKill | null;
  /** Host log lines "delivery N of message … failed" (messages left for redelivery). */
  failedDeliveries: number;
  /** Host log lines "moved to …-poison". */
  poisonMoves: number;
  /** Request, poison and result queue messages left after settling. */
  leftInQueues: number;
}

export interface SoakReport {
  passed: boolean;
  settings: {
    requests: number;
    faultRate: number;
    seed: number;
    faultDelayMs: number;
    faultMix: RandomFaultMix;
    faultServices: SimulatorService[];
    killHostAt: number | null;
    concurrencySubmit: number;
    maxOutstanding: number | null;
    timeoutMs: number;
    host: SoakHostSettings;
    /** The host's batch size (host.json extensions.queues.batchSize). */
    hostBatchSize: number;
    hostEnv: Record<string, string>;
    allowedFailureCodes: string[];
  };
  checks: SoakCheck[];
  figures: SoakFigures;
  /** Where the host logs were kept (when they were). */
  logDir?: string;
}

/** The first result of a request, and how often (and how differently) it came again. */
export interface Answer {
  text: string;
  status: string;
  serial?: string;
  errorCode?: string;
  receivedAt: number;
  repeats: number;
  differingRepeats: number;
}

/** What the host logs said, counted as they were written. */
export interface LogScan {
  unhandled: string[];
  unexpectedExits: string[];
  failedDeliveries: number;
  poisonMoves: number;
}

const MAX_DETAILS = 200;

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: readonly number[], fraction: number): number {
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function listed(items: readonly string[], limit = 5): string {
  if (items.length <= limit) return items.join(', ');
  return `${items.slice(0, limit).join(', ')} … (+${items.length - limit})`;
}

function check(
  name: string,
  details: readonly string[],
  passedSummary: string,
  failedSummary?: string,
): SoakCheck {
  const passed = details.length === 0;
  return {
    name,
    passed,
    summary: passed ? passedSummary : (failedSummary ?? `${details.length}: ${listed(details, 3)}`),
    details: details.slice(0, MAX_DETAILS),
  };
}

/** Everything a run collected, as plain data: the audit reads nothing else. */
export interface AuditInput {
  /** The request ids of the run, in submit order. */
  ids: readonly string[];
  /** 1-based index of each id (its seat is soak-<index>@contoso.com). */
  indexOf: ReadonlyMap<string, number>;
  /** When each submitted request was sent (ms); an id missing here was never sent. */
  submittedAt: ReadonlyMap<string, number>;
  /** The first result of each answered request id. */
  answers: ReadonlyMap<string, Answer>;
  /** Results whose request id is not one of `ids`, one line each. */
  unknownResults: readonly string[];
  /** The CA's books at the end: every certificate it issued, its counters, its per-seat summary. */
  ca: { certificates: readonly IssuedCertificate[]; stats: SimulatorStats; account: AccountAudit };
  scan: LogScan;
  started: number;
  submitDoneAt: number;
  lastFirstResultAt: number;
  kill: SoakKill | null;
  /** Results after which the host was to be killed; undefined when no kill was asked for. */
  killThreshold: number | undefined;
  /** Messages left in the queues after settling; NaN when they could not be counted. */
  leftInQueues: number;
  settings: SoakReport['settings'];
}

export function auditSoak(input: AuditInput): SoakReport {
  const { ids, answers, scan } = input;
  const allowedFailureCodes = input.settings.allowedFailureCodes;
  const seatOf = (id: string): string => `soak-${input.indexOf.get(id)}@contoso.com`;
  const certificatesBySeat = new Map<string, IssuedCertificate[]>();
  for (const certificate of input.ca.certificates) {
    const seat = (certificate.seatId ?? '').toLowerCase();
    const list = certificatesBySeat.get(seat) ?? [];
    list.push(certificate);
    certificatesBySeat.set(seat, list);
  }
  const describeCertificate = (certificate: IssuedCertificate): string =>
    `${certificate.serialNumber} ${certificate.status}${certificate.revocationReason ? ` (${certificate.revocationReason})` : ''}`;

  const missing: string[] = [];
  const differing: string[] = [];
  const badIssued: string[] = [];
  const severalValid: string[] = [];
  const unrevokedStrays: string[] = [];
  const unexplainedFailures: string[] = [];
  const failedByCode: Record<string, number> = {};
  const latencies: number[] = [];
  let issued = 0;
  let repeatedResults = 0;
  let straysRevoked = 0;
  const ourSeats = new Set<string>();

  for (const id of ids) {
    const seat = seatOf(id);
    ourSeats.add(seat);
    const certificates = certificatesBySeat.get(seat) ?? [];
    const valid = certificates.filter((certificate) => certificate.status === 'VALID');
    const answer = answers.get(id);
    if (answer === undefined) {
      if (!input.submittedAt.has(id)) {
        missing.push(`${id} (never submitted: the soak timed out first)`);
        continue;
      }
      missing.push(
        `${id} (seat ${seat}: ${certificates.length === 0 ? 'no certificate at the CA' : certificates.map(describeCertificate).join(', ')})`,
      );
      continue;
    }
    latencies.push(answer.receivedAt - input.submittedAt.get(id)!);
    repeatedResults += answer.repeats;
    if (answer.differingRepeats > 0) {
      differing.push(
        `${id}: ${answer.differingRepeats} of ${answer.repeats} repeated results differ from the first`,
      );
    }
    if (valid.length > 1) {
      severalValid.push(
        `${id} (seat ${seat}): VALID ${valid.map((certificate) => certificate.serialNumber).join(', ')}; result ${answer.status === 'issued' ? `names ${answer.serial}` : `is ${answer.status} ${answer.errorCode ?? ''}`.trim()}`,
      );
    }
    if (answer.status === 'issued') {
      issued += 1;
      const serial = normalizeSerial(answer.serial ?? '');
      const own = certificates.find((certificate) => normalizeSerial(certificate.serialNumber) === serial);
      if (own === undefined) {
        const elsewhere = input.ca.certificates.find(
          (certificate) => normalizeSerial(certificate.serialNumber) === serial,
        );
        badIssued.push(
          elsewhere === undefined
            ? `${id}: serial ${answer.serial ?? '(none)'} is unknown at the CA`
            : `${id}: serial ${answer.serial} belongs to seat ${elsewhere.seatId ?? '(none)'}, not ${seat}`,
        );
      } else {
        if (own.status !== 'VALID') badIssued.push(`${id}: its certificate ${describeCertificate(own)}`);
        const published = readPublishedPem(answer.text);
        if (published !== undefined && pemBody(published) !== own.certificateDerBase64) {
          badIssued.push(
            `${id}: the certificate in the result is not the one the CA issued as ${own.serialNumber}`,
          );
        }
      }
      for (const certificate of certificates) {
        if (normalizeSerial(certificate.serialNumber) === serial) continue;
        if (certificate.status === 'VALID')
          unrevokedStrays.push(`${id}: stray ${certificate.serialNumber} VALID`);
        else straysRevoked += 1;
      }
    } else {
      const code = answer.errorCode ?? answer.status;
      failedByCode[code] = (failedByCode[code] ?? 0) + 1;
      if (answer.status !== 'failed' || !allowedFailureCodes.includes(code)) {
        unexplainedFailures.push(`${id}: ${answer.status} ${answer.errorCode ?? ''}`.trim());
      }
      for (const certificate of certificates) {
        if (certificate.status === 'VALID') {
          unrevokedStrays.push(`${id}: failed (${code}) but ${certificate.serialNumber} is VALID`);
        } else straysRevoked += 1;
      }
    }
  }
  const foreignSeats = [...certificatesBySeat.keys()].filter((seat) => !ourSeats.has(seat));

  const stats = input.ca.stats;
  const caAudit = input.ca.account;
  const faultsInjected = stats.faultsBySource.random + stats.faultsBySource.queued;
  const wallMs = Math.max(0, input.lastFirstResultAt - input.started);
  latencies.sort((a, b) => a - b);

  const checks: SoakCheck[] = [
    check(
      'every request has a result (0 lost)',
      missing,
      `${answers.size}/${ids.length}`,
      `${missing.length} of ${ids.length} without a result: ${listed(missing.map((line) => line.split(' ')[0]!))}`,
    ),
    check('no result for an unknown request id', input.unknownResults, 'none'),
    check(
      'repeated results are byte-identical',
      differing,
      `${repeatedResults} repeated result(s), all identical to the first`,
    ),
    check(
      'issued certificates are VALID at the CA, on their seat',
      badIssued,
      `${issued} issued, all VALID and on their seat`,
    ),
    check(
      'at most one VALID certificate per seat',
      [
        ...severalValid,
        ...foreignSeats.map((seat) => `certificates on seat "${seat}", which no request of the soak uses`),
      ],
      `${caAudit.seats.length} seats, none with two`,
      `${caAudit.seatsWithSeveralValid.length} seat(s) with several VALID: ${listed(severalValid.map((line) => line.split(' ')[0]!))}`,
    ),
    check('every stray certificate is revoked', unrevokedStrays, `${straysRevoked} stray(s), all revoked`),
    check(
      `failures only with ${allowedFailureCodes.join('/')}`,
      unexplainedFailures,
      Object.keys(failedByCode).length === 0 ? 'no failures' : formatCounts(failedByCode),
    ),
    check(
      'no unhandled error, no host crash',
      [...scan.unexpectedExits, ...groupLines(scan.unhandled)],
      'none',
      scan.unhandled.length + scan.unexpectedExits.length === 0
        ? undefined
        : `${scan.unexpectedExits.length} crash(es), ${scan.unhandled.length} line(s): ${listed(groupLines(scan.unhandled), 1)}`,
    ),
    check(
      'queues drained after the last result',
      input.leftInQueues === 0
        ? []
        : [`${Number.isNaN(input.leftInQueues) ? 'unknown' : input.leftInQueues} message(s) left`],
      'empty',
    ),
    check(
      'faults were injected',
      input.settings.faultRate > 0 && faultsInjected === 0
        ? ['fault rate > 0 but no fault was injected']
        : [],
      `${faultsInjected}`,
    ),
    check(
      'the host was killed mid-run',
      input.killThreshold !== undefined && input.kill === null
        ? [`never reached ${input.killThreshold} results, so the host was never killed`]
        : [],
      input.kill === null ? 'no kill asked for' : `after ${input.kill.resultsBefore} results`,
    ),
  ];

  return {
    passed: checks.every((entry) => entry.passed),
    settings: input.settings,
    checks,
    figures: {
      wallMs,
      submitted: input.submittedAt.size,
      submitMs: input.submitDoneAt - input.started,
      throughputPerSecond: wallMs > 0 ? answers.size / (wallMs / 1000) : 0,
      latencyMs:
        latencies.length === 0
          ? null
          : { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: latencies.at(-1)! },
      issued,
      failedByCode,
      repeatedResults,
      faultsInjected,
      faultsByKind: stats.faults,
      caRequestsByService: Object.fromEntries(
        Object.entries(stats.requests).filter(([, count]) => count > 0),
      ) as Record<string, number>,
      caCertificates: {
        issued: caAudit.certificates,
        valid: caAudit.valid,
        revoked: caAudit.revoked,
        revocationReasons: caAudit.revocationReasons,
      },
      straysRevoked,
      kill: input.kill,
      failedDeliveries: scan.failedDeliveries,
      poisonMoves: scan.poisonMoves,
      leftInQueues: input.leftInQueues,
    },
  };
}

/** Host log lines grouped by their shape (ids and counts taken out): "7× <first line of the kind>". */
function groupLines(lines: readonly string[]): string[] {
  const groups = new Map<string, { count: number; example: string }>();
  for (const line of lines) {
    const shape = line
      .replace(/^host \d+: /, '')
      .replace(/soak-[0-9a-f]+-\d+/g, '<request>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<message>')
      .replace(/\d+/g, 'N');
    const group = groups.get(shape);
    if (group === undefined) groups.set(shape, { count: 1, example: line });
    else group.count += 1;
  }
  return [...groups.values()].map((group) => `${group.count}× ${group.example}`);
}

export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? 'none' : entries.map(([key, count]) => `${key} ${count}`).join(', ');
}

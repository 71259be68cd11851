/**
 * Group 6: certificates end to end through the real host process, against the bare cost of their keys. The
 * run itself is in ../e2e/e2eRun.ts; this file turns it into figures: broker CPU per certificate ÷ keygen CPU
 * per key round by round (median and spread), throughput, latency from enqueue to result, memory, cold start,
 * CA and storage calls per certificate and where the main thread's time went.
 */
import { runEndToEnd, type E2eOptions, type E2eResult, type HostRound } from '../e2e/e2eRun';
import { STAGES } from '../e2e/cpuProfile';
import { MAIN_THREAD } from '../e2e/procStats';
import { splitCounts, type StorageCounts } from '../e2e/storageProxy';
import { formatDuration, roundTo, type Section, type Table } from '../report';
import { percentile, summarize } from '../stats';

const MB = 2 ** 20;

/** "median (min–max)" of one column over the rounds. */
function spread<K extends string>(rows: readonly Record<K, number>[], key: K, digits: number): string {
  const values = rows.map((row) => row[key]);
  const summary = summarize(values);
  const range = values.length > 1 ? ` (${summary.min.toFixed(digits)}–${summary.max.toFixed(digits)})` : '';
  return `${summary.median.toFixed(digits)}${range}`;
}

/** The rounds' figures added up by name (thread, CA service, storage operation). */
function sumOverRounds(
  rounds: readonly HostRound[],
  figures: (round: HostRound) => Iterable<[string, number]>,
): Map<string, number> {
  const total = new Map<string, number>();
  for (const round of rounds)
    for (const [name, value] of figures(round)) total.set(name, (total.get(name) ?? 0) + value);
  return total;
}

function perCertificate(value: number, certificates: number): string {
  return (value / certificates).toFixed(2);
}

export function e2eSection(result: E2eResult): Section {
  const { hostRounds, baselineRounds, options } = result;
  const rows = hostRounds.map((round, index) => {
    const keygen = baselineRounds[index]!.cpuPerKeyMs;
    const brokerPerCert = round.hostCpuMs / round.requests;
    const sorted = [...round.latenciesMs].sort((a, b) => a - b);
    return {
      keygen,
      brokerPerCert,
      ratio: brokerPerCert / keygen,
      rate: round.requests / (round.wallMs / 1000),
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      rssMb: round.rssBytes / MB,
      failed: round.failed,
    };
  });
  const certificates = hostRounds.reduce((sum, round) => sum + round.requests, 0);
  const roundsTable: Table = {
    columns: [
      'round',
      'N',
      'keygen CPU/key',
      'broker CPU/cert',
      'ratio',
      'rate',
      'p50',
      'p95',
      'RSS',
      'failed',
    ],
    rows: [
      ...rows.map((row, index) => [
        String(index + 1),
        String(hostRounds[index]!.requests),
        formatDuration(row.keygen),
        formatDuration(row.brokerPerCert),
        row.ratio.toFixed(2),
        `${row.rate.toFixed(1)}/s`,
        formatDuration(row.p50),
        formatDuration(row.p95),
        `${row.rssMb.toFixed(0)} MB`,
        String(row.failed),
      ]),
      [
        'median (min–max)',
        String(options.requests),
        `${spread(rows, 'keygen', 0)} ms`,
        `${spread(rows, 'brokerPerCert', 0)} ms`,
        spread(rows, 'ratio', 2),
        `${spread(rows, 'rate', 1)}/s`,
        `${spread(rows, 'p50', 0)} ms`,
        `${spread(rows, 'p95', 0)} ms`,
        `peak ${(result.peakRssBytes / MB).toFixed(0)} MB`,
        String(rows.reduce((sum, row) => sum + row.failed, 0)),
      ],
    ],
  };

  const threadTotals = sumOverRounds(hostRounds, (round) => Object.entries(round.threadCpuMs));
  const threadsTable: Table = {
    columns: ['host thread', 'CPU/cert'],
    rows: [...threadTotals]
      .filter(([, ms]) => ms / certificates >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => [name, formatDuration(ms / certificates)]),
  };

  const caTotals = sumOverRounds(hostRounds, (round) => Object.entries(round.caCalls));
  const caCallsPerCert = [...caTotals.values()].reduce((sum, count) => sum + count, 0) / certificates;
  const storage: StorageCounts = sumOverRounds(hostRounds, (round) => round.storage);
  const split = splitCounts(storage);
  const callsTable: Table = {
    columns: ['call', 'per cert'],
    rows: [
      ...[...caTotals].map(([service, count]) => [`CA ${service}`, perCertificate(count, certificates)]),
      ...[...storage]
        .sort((a, b) => b[1] - a[1])
        .map(([label, count]) => [`storage ${label}`, perCertificate(count, certificates)]),
      ['storage, requests that did work', perCertificate(split.perRequest, certificates)],
      ['storage, of which writes', perCertificate(split.writes, certificates)],
      ['storage, empty receives (polling)', perCertificate(split.polling, certificates)],
    ],
  };

  const stages = result.stages;
  // The profiler samples on the wall clock: on a loaded machine a preempted main thread still collects samples,
  // so a stage's CPU is its share of the samples times the main thread's CPU as /proc counts it.
  const mainCpuPerCert = (threadTotals.get(MAIN_THREAD) ?? Number.NaN) / certificates;
  const stageTable: Table | undefined =
    stages === undefined
      ? undefined
      : {
          columns: ['stage (main thread)', 'share', '≈ CPU/cert', 'top frames (share of the stage)'],
          rows: STAGES.filter((stage) => stages.byStage[stage] > 0)
            .sort((a, b) => stages.byStage[b] - stages.byStage[a])
            .map((stage) => [
              stage,
              `${((stages.byStage[stage] / stages.busyMs) * 100).toFixed(1)} %`,
              formatDuration((stages.byStage[stage] / stages.busyMs) * mainCpuPerCert),
              (stages.topFrames[stage] ?? [])
                .slice(0, 2)
                .map(
                  (frame) =>
                    `${frame.frame.slice(0, 60)} ${((frame.ms / stages.byStage[stage]) * 100).toFixed(0)} %`,
                )
                .join('; '),
            ]),
        };

  // All the host's CPU over all its certificates ÷ all the baseline's over all its keys: the figure that
  // scatters least, since it averages over every key of the run rather than 32 at a time.
  const baselineKeys = baselineRounds.reduce((sum, round) => sum + round.keys, 0);
  const pooledRatio =
    hostRounds.reduce((sum, round) => sum + round.hostCpuMs, 0) /
    certificates /
    (baselineRounds.reduce((sum, round) => sum + round.cpuMs, 0) / baselineKeys);
  const { coldStart } = result;
  return {
    title: `6. End to end: ${options.requests} requests at once through the host process, ${hostRounds.length} rounds${options.profileOid === undefined ? '' : ` (profile ${options.profileOid})`}`,
    tables: [roundsTable, threadsTable, callsTable, ...(stageTable ? [stageTable] : [])],
    notes: [
      `Broker CPU: the host process's user + system time from /proc/<pid>/stat, every thread but the profiler's own (v8:ProfEvntProc), from the first send until the request queue is empty; keygen: a separate process generating ${options.baselineKeys} RSA-2048 keys two at a time, alternating with the host round by round.`,
      `Ratio pooled over the rounds (all the host's CPU per certificate ÷ all the baseline's per key): ${pooledRatio.toFixed(3)}.`,
      `Latency: from the request's send to its result read off the result queue (the reader polls every 100 ms when idle). Rate: N ÷ (last result − first send).`,
      `Cold start (${options.coldStartRequests} requests queued before the process starts): process start → ready ${formatDuration(coldStart.spawnToReadyMs)}, → first result ${formatDuration(coldStart.spawnToFirstResultMs)}; ready → first result ${formatDuration(coldStart.readyToFirstResultMs)}.`,
      `Memory: peak RSS (VmHWM) ${(result.peakRssBytes / MB).toFixed(0)} MB; at the end RssAnon ${(result.rssAnonBytes / MB).toFixed(0)} MB, RssFile ${(result.rssFileBytes / MB).toFixed(0)} MB${result.heap ? `; V8 heap after GC at most ${(result.heap.usedBytes / MB).toFixed(0)} MB used, ${(result.heap.committedBytes / MB).toFixed(0)} MB committed` : ''}. The host takes ${result.hostBatchSize} messages at a time per queue (host.json batchSize): the rest wait in the queue.`,
      `Storage calls counted by a proxy in front of Azurite (the bench's own sends and reads bypass it). Idle, the host makes ${result.idlePollingPerSecond.toFixed(1)} storage requests/s (polling its four queues).`,
      stages === undefined
        ? 'No CPU profile (--no-cpu-prof).'
        : `Stages: a --cpu-prof profile of the host's main thread over the measured rounds, each sample charged to the innermost frame naming a stage; ≈ CPU = share × the main thread's CPU from /proc (${formatDuration(mainCpuPerCert)}/cert; the profiler samples wall time, ${formatDuration(stages.busyMs / certificates)}/cert busy, which a loaded machine inflates). Key generation runs on libuv's pool, not on the main thread: see the thread table.`,
    ],
    data: {
      requests: options.requests,
      rounds: hostRounds.map((round, index) => ({
        ...rows[index]!,
        hostCpuMs: roundTo(round.hostCpuMs, 1),
        wallMs: round.wallMs,
        threadCpuMs: round.threadCpuMs,
        storage: Object.fromEntries(round.storage),
        caCalls: round.caCalls,
      })),
      baselineRounds,
      medianRatio: roundTo(summarize(rows.map((row) => row.ratio)).median, 3),
      pooledRatio: roundTo(pooledRatio, 3),
      caCallsPerCert: roundTo(caCallsPerCert, 3),
      storagePerCert: {
        perRequest: roundTo(split.perRequest / certificates, 3),
        writes: roundTo(split.writes / certificates, 3),
        polling: roundTo(split.polling / certificates, 3),
      },
      coldStart,
      peakRssBytes: result.peakRssBytes,
      rssAnonBytes: result.rssAnonBytes,
      rssFileBytes: result.rssFileBytes,
      heap: result.heap,
      mainThreadCpuPerCertMs: roundTo(mainCpuPerCert, 2),
      stagesSampledMs: stages?.byStage,
      stagesBusyMs: stages?.busyMs,
      topFrames: stages?.topFrames,
      idlePollingPerSecond: roundTo(result.idlePollingPerSecond, 2),
      hostBatchSize: result.hostBatchSize,
    },
  };
}

export async function benchEndToEnd(options: E2eOptions, progress: (line: string) => void): Promise<Section> {
  return e2eSection(await runEndToEnd(options, progress));
}

/**
 * Group 7: the scale model (../scale/scaleModel.ts), checked and then used. Two runs of the real host on this
 * machine, one certificate in flight and then host.json's batchSize + newBatchThreshold: the serial run gives the waiting per certificate, from
 * which the model predicts the concurrent run's rate; the measured rate says how far to trust it. Then the
 * model drains a 100,000-request burst on Flex Consumption instances with this machine's CPU per
 * certificate, for a few CA latencies, instance counts and CA rate limits.
 */
import os from 'node:os';
import { runEndToEnd, type E2eOptions, type HostRound } from '../e2e/e2eRun';
import { formatDuration, type Section } from '../report';
import { drainBurst, predictFromSerialRun, type BurstScenario } from '../scale/scaleModel';

/**
 * Flex Consumption at 2048 MB: 1 core (learn.microsoft.com, "Flex Consumption plan hosting", instance sizes);
 * host.json's batchSize 8 + newBatchThreshold 4 in flight, as the local host runs them too.
 */
const FLEX_2048 = { cores: 1, inFlight: 8 + 4, caMaxConcurrency: 8 };
/** Storage round trips on a certificate's critical path (docs/performance.md) and what one costs in Azure. */
const STORAGE_OPS = 5;
const AZURE_STORAGE_MS = 10;

function figures(round: HostRound): { cpuMs: number; neighbourCpuMs: number; perSecond: number } {
  return {
    cpuMs: round.hostCpuMs / round.requests,
    neighbourCpuMs: Math.max(0, round.machineCpuMs - round.hostCpuMs) / round.requests,
    perSecond: round.requests / (round.wallMs / 1000),
  };
}

function hours(seconds: number): string {
  return seconds < 3600 ? `${(seconds / 60).toFixed(1)} min` : `${(seconds / 3600).toFixed(2)} h`;
}

export async function benchScaleModel(requests: number, progress: (line: string) => void): Promise<Section> {
  const base: E2eOptions = {
    requests,
    rounds: 1,
    baselineKeys: 8,
    coldStartRequests: 2,
    cpuProfile: false,
    timeoutMs: Math.max(120_000, requests * 3_000),
  };
  progress(`scale: the host with one certificate in flight (${requests} requests)`);
  const serialRun = await runEndToEnd({ ...base, batchSize: 1, newBatchThreshold: 0 }, progress);
  progress(`scale: the host as host.json sets it (${requests} requests)`);
  const concurrentRun = await runEndToEnd(base, progress);
  const serial = figures(serialRun.hostRounds[0]!);
  const concurrent = figures(concurrentRun.hostRounds[0]!);
  const cores = os.availableParallelism();
  const prediction = predictFromSerialRun(serial, {
    inFlight: FLEX_2048.inFlight,
    cpuMs: concurrent.cpuMs,
    neighbourCpuMs: concurrent.neighbourCpuMs,
    cores,
  });
  const error = prediction.predictedPerSecond / concurrent.perSecond - 1;

  const scenarios: { label: string; scenario: BurstScenario }[] = [];
  for (const caLatencyMs of [300, 3000])
    for (const maxInstances of [10, 40, 100])
      for (const caRatePerSecond of [undefined, 20]) {
        scenarios.push({
          label: `${caLatencyMs} ms | ${maxInstances} | ${caRatePerSecond === undefined ? 'none' : `${caRatePerSecond}/s`}`,
          scenario: {
            requests: 100_000,
            shape: FLEX_2048,
            cost: {
              cpuMs: concurrent.cpuMs,
              ioMs: caLatencyMs + STORAGE_OPS * AZURE_STORAGE_MS,
              caMs: caLatencyMs,
            },
            maxInstances,
            coldStartSeconds: 5,
            scaleOutPerSecond: 1,
            ...(caRatePerSecond === undefined ? {} : { caRatePerSecond }),
          },
        });
      }
  const estimates = scenarios.map(({ label, scenario }) => ({ label, estimate: drainBurst(scenario) }));
  return {
    title: '7. Scale model: checked against two local runs, then a 100,000-request burst',
    tables: [
      {
        columns: [
          'local run',
          'in flight',
          'host CPU/cert',
          'rest CPU/cert',
          'rate measured',
          'rate predicted',
        ],
        rows: [
          [
            'serial',
            '1',
            formatDuration(serial.cpuMs),
            formatDuration(serial.neighbourCpuMs),
            `${serial.perSecond.toFixed(2)}/s`,
            '(input)',
          ],
          [
            'concurrent',
            String(FLEX_2048.inFlight),
            formatDuration(concurrent.cpuMs),
            formatDuration(concurrent.neighbourCpuMs),
            `${concurrent.perSecond.toFixed(2)}/s`,
            `${prediction.predictedPerSecond.toFixed(2)}/s (${(error * 100).toFixed(0)} %, ${prediction.limitedBy})`,
          ],
        ],
      },
      {
        columns: ['CA latency | instances | CA limit', 'steady rate', 'bound by', 'drain 100,000'],
        rows: estimates.map(({ label, estimate }) => [
          label,
          `${estimate.steadyPerSecond.toFixed(0)}/s`,
          estimate.limitedBy,
          hours(estimate.drainSeconds),
        ]),
      },
    ],
    notes: [
      `Local check on ${cores} cores, which the host shares with Azurite, the simulator and the bench ("rest": the machine's busy CPU less the host's, per certificate, so other load on the machine lands there too): the serial run waits ${formatDuration(prediction.ioMs)} per certificate beyond the host's CPU (CA, storage and queue round trips); with that, the model predicts the run with ${FLEX_2048.inFlight} in flight within ${(Math.abs(error) * 100).toFixed(0)} %.`,
      `Burst: Flex Consumption 2048 MB instances (1 core, ${FLEX_2048.inFlight} messages in flight: batchSize 8 + newBatchThreshold 4, CA_MAX_CONCURRENCY ${FLEX_2048.caMaxConcurrency}), this machine's CPU per certificate, ${STORAGE_OPS} storage round trips of ${AZURE_STORAGE_MS} ms, a 5 s cold start and one instance added per second (assumptions, see docs/performance.md).`,
    ],
    data: {
      serial,
      concurrent,
      cores,
      waitPerCertificateMs: prediction.ioMs,
      predictedConcurrentPerSecond: prediction.predictedPerSecond,
      predictionError: error,
      bursts: estimates.map(({ label, estimate }) => ({ scenario: label, ...estimate })),
    },
  };
}

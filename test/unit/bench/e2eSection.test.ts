import type { E2eResult, HostRound } from '../../../bench/e2e/e2eRun';
import { e2eSection } from '../../../bench/groups/e2e';

function round(requests: number, hostCpuMs: number): HostRound {
  return {
    requests,
    hostCpuMs,
    machineCpuMs: hostCpuMs * 1.2,
    threadCpuMs: { 'main (JavaScript)': hostCpuMs / 10 },
    wallMs: 1000,
    latenciesMs: Array.from({ length: requests }, (_, index) => 100 + index),
    failed: 0,
    storage: new Map([['table insert pkcsrequests', requests * 2]]),
    caCalls: { enrollmentService: requests },
    rssBytes: 100 * 2 ** 20,
  };
}

describe('the end-to-end section', () => {
  it('pools the ratio over every certificate and every key, not round by round', () => {
    const result: E2eResult = {
      options: {
        requests: 10,
        rounds: 2,
        baselineKeys: 4,
        coldStartRequests: 2,
        cpuProfile: false,
        timeoutMs: 1,
      },
      hostRounds: [round(10, 2000), round(10, 1000)],
      // Per round: 200/100 = 2.0 and 100/200 = 0.5; pooled: (3000/20) / (1200/8) = 1.0.
      baselineRounds: [
        { keys: 4, cpuMs: 400, wallMs: 1, cpuPerKeyMs: 100 },
        { keys: 4, cpuMs: 800, wallMs: 1, cpuPerKeyMs: 200 },
      ],
      coldStart: { spawnToReadyMs: 1, spawnToFirstResultMs: 2, readyToFirstResultMs: 1 },
      peakRssBytes: 1,
      rssAnonBytes: 1,
      rssFileBytes: 1,
      idlePollingPerSecond: 0,
      hostBatchSize: 8,
    };
    const section = e2eSection(result);
    expect(section.data.pooledRatio).toBe(1);
    expect(section.data.medianRatio).toBe(1.25);
    expect(section.notes.join('\n')).toContain('pooled over the rounds');
  });
});

/**
 * How long a burst of requests takes to drain (issue 11 item 6). A deliberately small model: each instance
 * runs a few certificates at a time; a certificate costs CPU (its key, mostly) and waits for the CA and for
 * storage; the deployment scales out to a limit at some speed; the CA may cap the rate. Every figure is an
 * input, so the answer is only as good as them: the measured ones come from `npm run bench`, the Azure ones
 * are stated in docs/performance.md with their source.
 */

export interface InstanceShape {
  /** CPU cores of one instance (Flex Consumption: 0.25 at 512 MB, 1 at 2048 MB, 2 at 4096 MB). */
  cores: number;
  /** Certificates one instance works on at once (the Functions host: batchSize + newBatchThreshold). */
  inFlight: number;
  /** CA_MAX_CONCURRENCY: CA calls one instance has open at once. */
  caMaxConcurrency: number;
}

export interface CertificateCost {
  /** CPU of one certificate, key included (measured: keygen CPU per key × the bench's ratio). */
  cpuMs: number;
  /** Waiting that uses no CPU: the CA round trips and the storage round trips on the critical path. */
  ioMs: number;
  /** Of ioMs, the part spent waiting for the CA (it holds a CA_MAX_CONCURRENCY slot). */
  caMs: number;
  /**
   * CPU that other processes on the same cores spend per certificate: locally the storage emulator, the CA
   * simulator and the bench itself; 0 on a Functions instance, where the broker has its cores alone.
   */
  neighbourCpuMs?: number;
}

/** Certificates per second one instance sustains, and what bounds it. */
export function instanceRate(
  shape: InstanceShape,
  cost: CertificateCost,
): { perSecond: number; limitedBy: 'cpu' | 'in-flight' | 'ca-concurrency' } {
  const byCpu = (shape.cores * 1000) / (cost.cpuMs + (cost.neighbourCpuMs ?? 0));
  // A certificate in flight either computes (on a free core) or waits; with `inFlight` of them, at most
  // inFlight / (cpu + io) finish per second.
  const byInFlight = (shape.inFlight * 1000) / (cost.cpuMs + cost.ioMs);
  const byCa = cost.caMs > 0 ? (shape.caMaxConcurrency * 1000) / cost.caMs : Number.POSITIVE_INFINITY;
  const perSecond = Math.min(byCpu, byInFlight, byCa);
  const limitedBy = perSecond === byCpu ? 'cpu' : perSecond === byInFlight ? 'in-flight' : 'ca-concurrency';
  return { perSecond, limitedBy };
}

export interface BurstScenario {
  requests: number;
  shape: InstanceShape;
  cost: CertificateCost;
  /** The Function App's maximum instance count. */
  maxInstances: number;
  /** Seconds until the first instance takes messages (cold start). */
  coldStartSeconds: number;
  /** Instances the platform adds per second while the queue is long. */
  scaleOutPerSecond: number;
  /** The CA's limit on enrollments per second for the whole RA, if it has one. */
  caRatePerSecond?: number;
}

export interface BurstEstimate {
  drainSeconds: number;
  /** The rate once every instance runs, and what bounds it. */
  steadyPerSecond: number;
  limitedBy: 'cpu' | 'in-flight' | 'ca-concurrency' | 'ca-rate-limit';
  /** Instances at the end: fewer than maxInstances when the queue drained first. */
  peakInstances: number;
}

/**
 * Steps through the burst a tenth of a second at a time: instances grow from one (after the cold start) by
 * scaleOutPerSecond up to maxInstances, never more than the remaining queue can keep busy; each step drains
 * instances × rate, capped by the CA's rate limit.
 */
export function drainBurst(scenario: BurstScenario): BurstEstimate {
  const { perSecond, limitedBy } = instanceRate(scenario.shape, scenario.cost);
  const caCap = scenario.caRatePerSecond ?? Number.POSITIVE_INFINITY;
  const fullRate = scenario.maxInstances * perSecond;
  const steadyPerSecond = Math.min(fullRate, caCap);
  const step = 0.1;
  let time = scenario.coldStartSeconds;
  let remaining = scenario.requests;
  let instances = 1;
  let peakInstances = 1;
  while (remaining > 0) {
    const useful = Math.max(1, Math.ceil(remaining / scenario.shape.inFlight));
    const working = Math.min(instances, useful);
    peakInstances = Math.max(peakInstances, working);
    remaining -= Math.min(working * perSecond, caCap) * step;
    time += step;
    instances = Math.min(scenario.maxInstances, instances + scenario.scaleOutPerSecond * step);
    if (time > 30 * 86_400) throw new Error('drainBurst: the burst would not drain within 30 days');
  }
  return {
    drainSeconds: time,
    steadyPerSecond,
    limitedBy: caCap < fullRate ? 'ca-rate-limit' : limitedBy,
    peakInstances: Math.floor(peakInstances),
  };
}

/**
 * The model's check against two local runs of the same host at different concurrency: the run with one
 * certificate in flight gives the waiting per certificate (its wall time per certificate minus the host's
 * CPU), and the model then predicts the rate of the run with more in flight on the same cores, which it
 * shares with the rest of the local stack (its CPU per certificate measured in the same run).
 */
export function predictFromSerialRun(
  serial: { perSecond: number; cpuMs: number },
  concurrent: { inFlight: number; cpuMs: number; neighbourCpuMs: number; cores: number },
): { ioMs: number; predictedPerSecond: number; limitedBy: string } {
  const ioMs = Math.max(0, 1000 / serial.perSecond - serial.cpuMs);
  const { perSecond, limitedBy } = instanceRate(
    { cores: concurrent.cores, inFlight: concurrent.inFlight, caMaxConcurrency: Number.POSITIVE_INFINITY },
    { cpuMs: concurrent.cpuMs, ioMs, caMs: 0, neighbourCpuMs: concurrent.neighbourCpuMs },
  );
  return { ioMs, predictedPerSecond: perSecond, limitedBy };
}

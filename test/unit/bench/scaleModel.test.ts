import { drainBurst, instanceRate, predictFromSerialRun } from '../../../bench/scale/scaleModel';

const oneCore = { cores: 1, inFlight: 12, caMaxConcurrency: 8 };

describe('the scale model', () => {
  it('an instance is bound by its cores, its certificates in flight or its CA slots, whichever is least', () => {
    expect(instanceRate(oneCore, { cpuMs: 125, ioMs: 300, caMs: 250 })).toEqual({
      perSecond: 8,
      limitedBy: 'cpu',
    });
    const serial = instanceRate({ ...oneCore, cores: 2, inFlight: 1 }, { cpuMs: 100, ioMs: 1000, caMs: 900 });
    expect(serial.limitedBy).toBe('in-flight');
    expect(serial.perSecond).toBeCloseTo(1000 / 1100, 6);
    expect(
      instanceRate({ ...oneCore, cores: 4, caMaxConcurrency: 1 }, { cpuMs: 100, ioMs: 1000, caMs: 1000 }),
    ).toEqual({
      perSecond: 1,
      limitedBy: 'ca-concurrency',
    });
  });

  it('one instance that never scales drains N / rate after its cold start', () => {
    const estimate = drainBurst({
      requests: 100,
      shape: oneCore,
      cost: { cpuMs: 100, ioMs: 0, caMs: 0 },
      maxInstances: 1,
      coldStartSeconds: 2,
      scaleOutPerSecond: 0,
    });
    expect(estimate.drainSeconds).toBeCloseTo(12, 1);
    expect(estimate).toMatchObject({ steadyPerSecond: 10, limitedBy: 'cpu', peakInstances: 1 });
  });

  it("the CA's rate limit caps the deployment however far it scales", () => {
    const estimate = drainBurst({
      requests: 100_000,
      shape: oneCore,
      cost: { cpuMs: 125, ioMs: 300, caMs: 250 },
      maxInstances: 1000,
      coldStartSeconds: 0,
      scaleOutPerSecond: 1000,
      caRatePerSecond: 20,
    });
    expect(estimate.limitedBy).toBe('ca-rate-limit');
    expect(estimate.steadyPerSecond).toBe(20);
    expect(estimate.drainSeconds).toBeCloseTo(5000, -1);
  });

  it('scaling out linearly: the area under the ramp, then the full rate', () => {
    // rate 1/s per instance, +1 instance/s up to 10: the ramp drains ∫(1+t)dt = 49.5 in 9 s, then 10/s for
    // 100 s; the last ten take about 2 s more, since fewer certificates than instances cannot be shared out.
    const estimate = drainBurst({
      requests: 1050,
      shape: { cores: 1, inFlight: 1, caMaxConcurrency: 1 },
      cost: { cpuMs: 1000, ioMs: 0, caMs: 0 },
      maxInstances: 10,
      coldStartSeconds: 0,
      scaleOutPerSecond: 1,
    });
    expect(estimate.drainSeconds).toBeGreaterThan(109);
    expect(estimate.drainSeconds).toBeLessThan(112);
    expect(estimate.peakInstances).toBe(10);
  });

  it('never uses more instances than the remaining queue keeps busy', () => {
    const estimate = drainBurst({
      requests: 24,
      shape: oneCore,
      cost: { cpuMs: 100, ioMs: 0, caMs: 0 },
      maxInstances: 100,
      coldStartSeconds: 0,
      scaleOutPerSecond: 100,
    });
    expect(estimate.peakInstances).toBe(2);
  });

  it('predicts a concurrent run from the serial one: its waiting, then the least of cores and in-flight', () => {
    expect(
      predictFromSerialRun(
        { perSecond: 2, cpuMs: 150 },
        { inFlight: 2, cpuMs: 150, neighbourCpuMs: 0, cores: 8 },
      ),
    ).toEqual({
      ioMs: 350,
      predictedPerSecond: 4,
      limitedBy: 'in-flight',
    });
    const prediction = predictFromSerialRun(
      { perSecond: 5, cpuMs: 150 },
      { inFlight: 8, cpuMs: 150, neighbourCpuMs: 50, cores: 2 },
    );
    expect(prediction.ioMs).toBeCloseTo(50, 6);
    // The cores are shared with the local stack: 150 ms of the host's and 50 ms of the rest's per certificate.
    expect(prediction.predictedPerSecond).toBeCloseTo(2000 / 200, 6);
    expect(prediction.limitedBy).toBe('cpu');
  });
});

/** The doctor behind the health probe: one run for concurrent callers, a finished report reused for reuseMs. */
import { sharedDoctor } from '../../../shared/doctor';
import type { DoctorOptions, DoctorReport } from '../../../shared/doctor';

function recordingRun(): {
  runs: DoctorOptions[];
  run: (options: DoctorOptions) => Promise<DoctorReport>;
  failNext: () => void;
} {
  const runs: DoctorOptions[] = [];
  let fail = false;
  return {
    runs,
    failNext: () => {
      fail = true;
    },
    run: async (options) => {
      runs.push(options);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) {
        fail = false;
        throw new Error('doctor crashed');
      }
      return { ok: true, mode: options.mode, checks: [] } as unknown as DoctorReport;
    },
  };
}

afterEach(() => jest.restoreAllMocks());

describe('sharedDoctor', () => {
  it('gives concurrent callers one run per mode, with the settings of options.env', async () => {
    const { runs, run } = recordingRun();
    const env = { CA_ALLOWED_HOSTS: 'ca.example' };
    const doctor = sharedDoctor({ env, run, reuseMs: 60_000 });
    const reports = await Promise.all([doctor('quick'), doctor('quick'), doctor('full')]);
    expect(reports[0]).toBe(reports[1]);
    expect(runs.map((options) => [options.mode, options.env])).toEqual([
      ['quick', env],
      ['full', env],
    ]);
    expect(runs[0]).not.toHaveProperty('reuseMs');
  });

  it('reuses a finished report for reuseMs, then runs again', async () => {
    const { runs, run } = recordingRun();
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const doctor = sharedDoctor({ env: {}, run, reuseMs: 10_000 });
    await doctor('quick');
    now.mockReturnValue(1_009_999);
    await doctor('quick');
    expect(runs).toHaveLength(1);
    now.mockReturnValue(1_010_000);
    await doctor('quick');
    expect(runs).toHaveLength(2);
  });

  it('runs every time with reuseMs 0, and reads process.env without options.env', async () => {
    const { runs, run } = recordingRun();
    const doctor = sharedDoctor({ run, reuseMs: 0 });
    await doctor('quick');
    await doctor('quick');
    expect(runs).toHaveLength(2);
    expect(runs[0]?.env).toBe(process.env);
  });

  it('forgets a run that threw, so the next caller runs again', async () => {
    const { runs, run, failNext } = recordingRun();
    const doctor = sharedDoctor({ env: {}, run, reuseMs: 60_000 });
    failNext();
    await expect(doctor('quick')).rejects.toThrow('doctor crashed');
    await expect(doctor('quick')).resolves.toMatchObject({ ok: true });
    expect(runs).toHaveLength(2);
  });
});

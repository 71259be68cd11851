/**
 * The doctor for callers that ask often and at once (the health probe, from several instances): concurrent
 * callers share one run per mode, and a finished report answers further callers for a few seconds, so a
 * probe storm costs the vault and the CA one round, not many. A run that throws is forgotten at once.
 */
import { runDoctor } from './doctor';
import type { DoctorMode, DoctorOptions, DoctorReport } from './types';

export interface SharedDoctorOptions extends Partial<Omit<DoctorOptions, 'mode'>> {
  /** How long a finished report answers further callers (default 10 s; 0 runs the checks every time). */
  reuseMs?: number;
  /** The run to share (default runDoctor); tests pass their own. */
  run?: (options: DoctorOptions) => Promise<DoctorReport>;
}

interface Run {
  report: Promise<DoctorReport>;
  finishedAt?: number;
}

/** A doctor whose reports are shared as described above; settings from `options.env`, else process.env. */
export function sharedDoctor(options: SharedDoctorOptions = {}): (mode: DoctorMode) => Promise<DoctorReport> {
  const { reuseMs = 10_000, run = runDoctor, ...doctorOptions } = options;
  const runs = new Map<DoctorMode, Run>();
  return (mode) => {
    const current = runs.get(mode);
    const fresh =
      current !== undefined &&
      (current.finishedAt === undefined || Date.now() - current.finishedAt < reuseMs);
    if (current !== undefined && fresh) return current.report;
    const started: Run = {
      report: run({ ...doctorOptions, env: doctorOptions.env ?? process.env, mode }),
    };
    started.report.then(
      () => {
        started.finishedAt = Date.now();
      },
      () => {
        if (runs.get(mode) === started) runs.delete(mode);
      },
    );
    runs.set(mode, started);
    return started.report;
  };
}

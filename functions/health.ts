/**
 * HTTP health probe for Azure (GET /api/health, function key): the doctor's quick checks — settings, Key
 * Vault, the RA certificate, the CA health operation of each allowed host — or all of them with `?full=1`.
 * 200 with the JSON report when nothing failed (warnings allowed), 503 otherwise. The report holds no secret.
 *
 * Probes come often and from several instances at once: concurrent requests share one run, and a finished
 * report is reused for a few seconds, so a probe storm costs the vault and the CA one round, not many.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { runDoctor, type DoctorMode, type DoctorOptions, type DoctorReport } from '../shared/doctor';

export interface HealthHandlerOptions extends Partial<Omit<DoctorOptions, 'mode'>> {
  /** How long a finished report answers further probes (default 10 s; 0 runs the checks every time). */
  reuseMs?: number;
}

type HealthHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

const FULL_VALUES = new Set(['1', 'true', 'yes']);

export function createHealthHandler(options: HealthHandlerOptions = {}): HealthHandler {
  const reuseMs = options.reuseMs ?? 10_000;
  const runs = new Map<DoctorMode, { report: Promise<DoctorReport>; finishedAt?: number }>();

  const reportFor = (mode: DoctorMode): Promise<DoctorReport> => {
    const current = runs.get(mode);
    const fresh =
      current !== undefined &&
      (current.finishedAt === undefined || Date.now() - current.finishedAt < reuseMs);
    if (current !== undefined && fresh) return current.report;
    const run: { report: Promise<DoctorReport>; finishedAt?: number } = {
      report: runDoctor({ ...options, env: options.env ?? process.env, mode }),
    };
    run.report.then(
      () => {
        run.finishedAt = Date.now();
      },
      () => {
        if (runs.get(mode) === run) runs.delete(mode);
      },
    );
    runs.set(mode, run);
    return run.report;
  };

  return async (request, context) => {
    const mode: DoctorMode = FULL_VALUES.has((request.query.get('full') ?? '').toLowerCase())
      ? 'full'
      : 'quick';
    const report = await reportFor(mode);
    const failed = report.checks.filter((check) => check.status === 'fail').map((check) => check.id);
    if (failed.length > 0) context.warn(`health (${mode}): failed ${failed.join(', ')}`);
    return {
      status: report.ok ? 200 : 503,
      jsonBody: report,
      headers: { 'cache-control': 'no-store' },
    };
  };
}

/** The handler the Functions host runs: settings from the Function App's environment. */
export const health = createHealthHandler();

app.http('health', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health',
  handler: health,
});

/**
 * The health probe's handler (GET /api/health, function key): the doctor's quick checks — settings, Key
 * Vault, the RA certificate, the CA health operation of each allowed host — or all of them with `?full=1`.
 * 200 with the JSON report when nothing failed (warnings allowed), 503 otherwise. The report holds no secret.
 * Probes come often and from several instances at once: the doctor shares its runs (shared/doctor/sharedRuns.ts).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { sharedDoctor, type DoctorMode, type SharedDoctorOptions } from '../../shared/doctor';

export type HealthHandlerOptions = Omit<SharedDoctorOptions, 'run'>;

type HealthHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

const FULL_VALUES = new Set(['1', 'true', 'yes']);

export function createHealthHandler(options: HealthHandlerOptions = {}): HealthHandler {
  const reportFor = sharedDoctor(options);
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

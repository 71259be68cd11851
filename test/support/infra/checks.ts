/**
 * Security and completeness checks on the Bicep templates in infra/. Each check returns the problems it
 * finds (empty: all good), so the tests can run them on the real templates and on deliberately broken copies
 * (a removed property must be noticed).
 */
import { checkKeyVault, checkNoSecrets, checkParametersFile, checkRoleAssignments } from './accessChecks';
import { checkAppSettings, checkFunctionApp, checkStorage } from './appChecks';
import { Infra, type InfraSources } from './infra';
import { checkMonitoring, checkTelemetryQueries } from './monitoringChecks';
import { checkOutputsAndModules } from './outputChecks';

export const ALL_CHECKS: ReadonlyArray<[string, (infra: Infra) => string[]]> = [
  ['storage', checkStorage],
  ['function app', checkFunctionApp],
  ['app settings', checkAppSettings],
  ['key vault', checkKeyVault],
  ['role assignments', checkRoleAssignments],
  ['no secrets', checkNoSecrets],
  ['parameters file', checkParametersFile],
  ['monitoring', checkMonitoring],
  ['telemetry names in queries', checkTelemetryQueries],
  ['outputs and modules', checkOutputsAndModules],
];

export function allProblems(sources: InfraSources): string[] {
  const infra = new Infra(sources);
  return ALL_CHECKS.flatMap(([, check]) => check(infra));
}

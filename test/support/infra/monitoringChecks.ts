/** Checks of monitoring: alerts and workbook, and that their queries read only what the broker sends. */
import path from 'node:path';
import { booleanAt, sourceOf, stringAt, valueAt, type BicepFile } from './bicepModel';
import { Infra, isParamReference } from './infra';
import { telemetryVocabulary, TELEMETRY_TABLES, type TelemetryTable } from './telemetryVocabulary';

export function checkMonitoring(infra: Infra): string[] {
  const problems: string[] = [];
  const workspace = infra.only('Microsoft.OperationalInsights/workspaces', problems);
  const appInsights = infra.only('Microsoft.Insights/components', problems);
  if (appInsights && workspace) {
    if (
      !sourceOf(valueAt(appInsights.body, 'properties.WorkspaceResourceId')).includes(
        `${workspace.symbol}.id`,
      )
    ) {
      problems.push('application insights: must be workspace-based (WorkspaceResourceId = the workspace)');
    }
  }
  const actionGroup = infra.only('Microsoft.Insights/actionGroups', problems);
  if (actionGroup) {
    const receivers = valueAt(actionGroup.body, 'properties.emailReceivers');
    const address = receivers?.kind === 'array' ? valueAt(receivers.items[0], 'emailAddress') : undefined;
    const file = infra.bicep.get(actionGroup.file) as BicepFile;
    const param = isParamReference(file, address);
    if (!param) problems.push('action group: the e-mail receiver must come from a parameter');
    else if (
      !infra
        .argumentsFor(actionGroup.file, param.name)
        .some((argument) => isParamReference(infra.main, argument.value))
    ) {
      problems.push('action group: the e-mail address must be a parameter of main.bicep');
    }
  }
  const rules = infra.resources('Microsoft.Insights/scheduledQueryRules');
  const queries: string[] = [];
  for (const rule of rules) {
    const criterion = valueAt(rule.body, 'properties.criteria.allOf');
    const first = criterion?.kind === 'array' ? criterion.items[0] : undefined;
    const query = infra.stringValue(rule.file, valueAt(first, 'query'));
    if (query === undefined) {
      problems.push(`alert ${rule.symbol}: no query`);
      continue;
    }
    queries.push(query);
    const column = stringAt(first, 'metricMeasureColumn');
    if (column !== undefined && !new RegExp(`\\b${column}\\s*=`).test(query)) {
      problems.push(`alert ${rule.symbol}: the query does not produce its metricMeasureColumn ${column}`);
    }
    if (
      actionGroup &&
      !sourceOf(valueAt(rule.body, 'properties.actions.actionGroups')).includes(`${actionGroup.symbol}.id`)
    ) {
      problems.push(`alert ${rule.symbol}: must notify the action group`);
    }
    if (
      appInsights &&
      !sourceOf(valueAt(rule.body, 'properties.scopes')).includes(`${appInsights.symbol}.id`)
    ) {
      problems.push(`alert ${rule.symbol}: must query Application Insights`);
    }
    if (booleanAt(rule.body, 'properties.enabled') !== true)
      problems.push(`alert ${rule.symbol}: must be enabled`);
  }
  const expectations: Array<[string, (query: string) => boolean]> = [
    ['failure rate', (query) => /customDimensions\.outcome/.test(query) && query.includes('"failed"')],
    ['requests that gave up (poison queue)', (query) => query.includes('"GAVE_UP"')],
    ['RA certificate expiry', (query) => query.includes('"pkcs.raCertificateDaysToExpiry"')],
  ];
  for (const [what, matches] of expectations) {
    if (!queries.some(matches)) problems.push(`alerts: no alert rule for ${what}`);
  }
  problems.push(...checkWorkbook(infra));
  return problems;
}

interface WorkbookItem {
  name?: string;
  type?: number;
  content?: {
    version?: string;
    query?: string;
    queryType?: number;
    resourceType?: string;
    timeContextFromParameter?: string;
    parameters?: Array<{ name?: string }>;
  };
}

/** The workbook JSON the workbook resource loads, or the problem that prevents reading it. */
function workbookDefinition(
  infra: Infra,
): { path: string; version?: string; items: WorkbookItem[] } | { problem: string } {
  const problems: string[] = [];
  const workbook = infra.only('Microsoft.Insights/workbooks', problems);
  if (!workbook) return { problem: problems.join('; ') };
  const serialized = sourceOf(valueAt(workbook.body, 'properties.serializedData'));
  const file = infra.bicep.get(workbook.file) as BicepFile;
  const content = file.vars.find((variable) => serialized.includes(variable.name));
  const load = content && /loadJsonContent\('([^']+)'\)/.exec(sourceOf(content.value));
  if (!load) return { problem: 'workbook: serializedData must load the workbook JSON' };
  const jsonPath = path.posix.normalize(path.posix.join(path.posix.dirname(workbook.file), load[1]));
  const text = infra.sources.files[jsonPath];
  if (text === undefined) return { problem: `workbook: ${jsonPath} is missing` };
  const parsed = JSON.parse(text) as { version?: string; items?: WorkbookItem[] };
  return { path: jsonPath, version: parsed.version, items: parsed.items ?? [] };
}

/** Every Kusto query of the alerts and the workbook, with where it is. */
export function monitoringQueries(infra: Infra): Array<{ where: string; query: string }> {
  const queries: Array<{ where: string; query: string }> = [];
  for (const rule of infra.resources('Microsoft.Insights/scheduledQueryRules')) {
    const criterion = valueAt(rule.body, 'properties.criteria.allOf');
    const first = criterion?.kind === 'array' ? criterion.items[0] : undefined;
    const query = infra.stringValue(rule.file, valueAt(first, 'query'));
    if (query !== undefined) queries.push({ where: `alert ${rule.symbol}`, query });
  }
  const workbook = workbookDefinition(infra);
  if (!('problem' in workbook)) {
    for (const item of workbook.items) {
      const query = item.content?.query;
      if (query !== undefined) queries.push({ where: `workbook panel ${item.name ?? '?'}`, query });
    }
  }
  return queries;
}

/** Metrics the workbook shows from the per-request traces instead (one trace per request carries the same). */
const METRICS_SHOWN_FROM_TRACES: ReadonlySet<string> = new Set(['pkcs.issued', 'pkcs.failures']);

function checkWorkbook(infra: Infra): string[] {
  const problems: string[] = [];
  const workbook = workbookDefinition(infra);
  if ('problem' in workbook) return [workbook.problem];
  if (workbook.version !== 'Notebook/1.0') problems.push('workbook: version must be Notebook/1.0');
  const parameterNames = new Set(
    workbook.items.flatMap((item) => (item.content?.parameters ?? []).map((parameter) => parameter.name)),
  );
  const names = workbook.items.map((item) => item.name);
  if (new Set(names).size !== names.length) problems.push('workbook: item names must be unique');
  const itemQueries: string[] = [];
  for (const item of workbook.items) {
    const content = item.content;
    if (content?.query === undefined) continue;
    itemQueries.push(content.query);
    const label = `workbook panel ${item.name ?? '?'}`;
    if (item.type !== 3 || content.version !== 'KqlItem/1.0') {
      problems.push(`${label}: a query panel is type 3, version KqlItem/1.0`);
    }
    if (content.queryType !== 0 || content.resourceType !== 'microsoft.insights/components') {
      problems.push(
        `${label}: must query the Application Insights logs (queryType 0, microsoft.insights/components)`,
      );
    }
    if (content.query.includes('{TimeRange')) {
      if (content.timeContextFromParameter !== 'TimeRange' || !parameterNames.has('TimeRange')) {
        problems.push(`${label}: uses {TimeRange} but takes its time range from no TimeRange parameter`);
      }
    }
  }
  const panels: Array<[string, RegExp]> = [
    ['issuance over time', /"issued"[\s\S]*bin\(timestamp/],
    ['failures by error code', /"failed"[\s\S]*by errorCode/],
    ['CA latency', /pkcs\.caLatencyMs/],
    [
      'CA calls by operation (success rate and duration)',
      /^dependencies\b[\s\S]*"PKI-WS"[\s\S]*success[\s\S]*duration[\s\S]*by operation = name/,
    ],
    ['queue wait', /pkcs\.queueWaitMs/],
    ['Key Vault reads', /^dependencies\b[\s\S]*"Azure Key Vault"/],
  ];
  for (const [what, pattern] of panels) {
    if (!itemQueries.some((query) => pattern.test(query))) problems.push(`workbook: no panel for ${what}`);
  }
  // Whatever the broker sends should be visible: each metric and each kind of dependency.
  const vocabulary = telemetryVocabulary(infra.sources.telemetrySources);
  for (const metric of vocabulary.metricNames) {
    if (METRICS_SHOWN_FROM_TRACES.has(metric)) continue;
    if (!itemQueries.some((query) => query.includes(`"${metric}"`))) {
      problems.push(`workbook: no panel shows the metric ${metric}`);
    }
  }
  for (const system of vocabulary.dependencySystems) {
    if (!itemQueries.some((query) => query.includes(`"${system}"`))) {
      problems.push(`workbook: no panel shows the ${system} dependencies`);
    }
  }
  return problems;
}

/** The alerts and the workbook read only names and values the broker really sends. */
export function checkTelemetryQueries(infra: Infra): string[] {
  const problems: string[] = [];
  const vocabulary = telemetryVocabulary(infra.sources.telemetrySources);
  const { dimensions } = vocabulary;
  if (
    vocabulary.metricNames.size < 3 ||
    dimensions.traces.size < 4 ||
    dimensions.dependencies.size < 1 ||
    dimensions.customMetrics.size < 3 ||
    vocabulary.values.size < 10
  ) {
    problems.push('telemetry sources: too little recognised; the reader of shared/telemetry is out of date');
  }
  for (const { where, query } of monitoringQueries(infra)) {
    const table = /^\s*([A-Za-z_]\w*)/.exec(query)?.[1] ?? '';
    if (!(TELEMETRY_TABLES as readonly string[]).includes(table)) {
      problems.push(`${where}: reads the table "${table}", which the broker does not write to`);
      continue;
    }
    const known = dimensions[table as TelemetryTable];
    for (const match of query.matchAll(/customDimensions(?:\.([A-Za-z_]\w*)|\[\s*["']([^"']+)["']\s*\])/g)) {
      const name = match[1] ?? match[2];
      if (!known.has(name)) {
        problems.push(`${where}: reads customDimensions.${name}, which the broker does not send in ${table}`);
      }
    }
    for (const match of query.matchAll(/"([^"]*)"|'([^']*)'/g)) {
      const literal = match[1] ?? match[2];
      if (literal.startsWith('pkcs.')) {
        if (!vocabulary.metricNames.has(literal)) {
          problems.push(`${where}: reads the metric ${literal}, which the broker does not send`);
        }
      } else if (!vocabulary.values.has(literal)) {
        problems.push(`${where}: compares with "${literal}", a value the broker never sends`);
      }
    }
  }
  return problems;
}

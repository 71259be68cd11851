/** What the broker sends to Application Insights, read from its sources, so the queries can be held to it. */

/** The Application Insights tables the broker writes to and the queries may read. */
export const TELEMETRY_TABLES = ['traces', 'dependencies', 'customMetrics'] as const;
export type TelemetryTable = (typeof TELEMETRY_TABLES)[number];

export interface TelemetryVocabulary {
  /** customMetrics names (the MetricName type). */
  metricNames: Set<string>;
  /** customDimensions keys by the table they arrive in. */
  dimensions: Record<TelemetryTable, Set<string>>;
  /** customDimensions.system of the dependencies (DependencyTelemetry.type). */
  dependencySystems: Set<string>;
  /** Values a query may compare with: outcomes, error codes, dependency systems, stringified booleans. */
  values: Set<string>;
}

/** From `open` (a bracket) to its partner, skipping comments and string and template literals. */
function bracketed(text: string, open: number): string {
  const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const stack: string[] = [];
  let index = open;
  while (index < text.length) {
    const char = text[index];
    if (text.startsWith('//', index) || text.startsWith('/*', index)) {
      const end = text.startsWith('//', index) ? text.indexOf('\n', index) : text.indexOf('*/', index) + 2;
      if (end < 2) break;
      index = end;
      continue;
    }
    if (char === "'" || char === '"' || char === '`') {
      index++;
      while (index < text.length && text[index] !== char) index += text[index] === '\\' ? 2 : 1;
    } else if (pairs[char] !== undefined) stack.push(pairs[char]);
    else if (char === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return text.slice(open, index + 1);
    }
    index++;
  }
  return text.slice(open);
}

/** The bracketed text that follows the first match of `pattern` (whose match ends at or before the bracket). */
function bracketedAfter(text: string, pattern: RegExp, bracket: string): string {
  const match = pattern.exec(text);
  if (!match) return '';
  const open = text.indexOf(bracket, match.index + match[0].length - 1);
  return open < 0 ? '' : bracketed(text, open);
}

const quotedIn = (text: string): string[] => [...text.matchAll(/'([^']*)'/g)].map((match) => match[1]);

/** Object keys in a region of TypeScript: `key:`, `'dotted.key':` and shorthand `{ key }`. */
function objectKeys(region: string): string[] {
  const keys = [...region.matchAll(/(?:^|[{,])\s*(?:'([\w.]+)'|([A-Za-z_]\w*))\s*(?=:(?!:)|})/gm)].map(
    (match) => match[1] ?? match[2],
  );
  // Shorthand properties anywhere in a brace group: `{ queue, queueName }`.
  const shorthand = [...region.matchAll(/\{([^{}]*)\}/g)].flatMap((match) =>
    match[1]
      .split(',')
      .map((part) => part.trim())
      .filter((part) => /^[A-Za-z_]\w*$/.test(part)),
  );
  return [
    ...keys,
    ...shorthand,
    ...[...region.matchAll(/\bproperties\.([A-Za-z_]\w*)\s*=/g)].map((match) => match[1]),
  ];
}

export function telemetryVocabulary(sources: Record<string, string>): TelemetryVocabulary {
  // The shapes (telemetry.ts) and what the client sends of them (applicationInsights.ts).
  const telemetry = [
    sources['shared/telemetry/telemetry.ts'] ?? '',
    sources['shared/telemetry/applicationInsights.ts'] ?? '',
  ].join('\n');
  const errors = sources['shared/contract/errors.ts'] ?? '';
  const metricNames = new Set(
    quotedIn(/export type MetricName\s*=([^;]*);/.exec(telemetry)?.[1] ?? '').filter((name) =>
      name.startsWith('pkcs.'),
    ),
  );
  // The per-request trace.
  const traceRegion = bracketedAfter(
    telemetry,
    /export function requestTraceProperties\([^)]*\)[^{]*\{/,
    '{',
  );
  // The dependency's properties.
  const dependencyRegion = bracketedAfter(
    bracketedAfter(telemetry, /\.client\.trackDependency\(/, '('),
    /\bproperties:\s*\{/,
    '{',
  );
  // Metric dimensions, given literally or through `const dimensions`.
  const metricRegions = [...telemetry.matchAll(/\bconst dimensions\b[^;]*;/g)].map((match) => match[0]);
  for (const source of Object.values(sources)) {
    for (const call of source.matchAll(/\.trackMetric(?:\?\.)?\(\s*'pkcs\./g)) {
      metricRegions.push(bracketed(source, source.indexOf('(', call.index)));
    }
  }
  const dependencyType = /\btype:\s*([^;]*);/.exec(
    bracketedAfter(telemetry, /export interface DependencyTelemetry\s*\{/, '{'),
  );
  const dependencySystems = new Set(quotedIn(dependencyType?.[1] ?? ''));
  const outcomes = quotedIn(/export type RequestOutcome\s*=([^;]*);/.exec(telemetry)?.[1] ?? '');
  const queueRoles = quotedIn(/export type QueueRole\s*=([^;]*);/.exec(telemetry)?.[1] ?? '');
  const errorCodes = quotedIn(bracketedAfter(errors, /export const ERROR_CODES\s*=\s*\[/, '['));
  return {
    metricNames,
    dimensions: {
      traces: new Set(objectKeys(traceRegion)),
      dependencies: new Set(objectKeys(dependencyRegion)),
      customMetrics: new Set(metricRegions.flatMap(objectKeys)),
    },
    dependencySystems,
    // Booleans travel as "true"/"false" strings (String(success), String(firstDelivery)).
    values: new Set([...outcomes, ...errorCodes, ...dependencySystems, ...queueRoles, 'true', 'false']),
  };
}

/**
 * The infra/ templates read for the checks: their texts and the broker files the checks compare them with,
 * parsed once, with the look-ups the checks share. The checks themselves are in the *Checks.ts files beside.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  sourceOf,
  stringAt,
  valueAt,
  type BicepFile,
  type BicepParam,
  type BicepResource,
  type BicepValue,
} from './bicepModel';
import { parseBicep } from './bicepReader';

/** Everything the checks read: template texts by path relative to infra/, plus two files of the app. */
export interface InfraSources {
  /** `main.bicep`, `modules/x.bicep`, `main.parameters.json`, `workbooks/x.json` … */
  files: Record<string, string>;
  /** shared/config/settings.ts: the settings the broker reads. */
  settingsSource: string;
  /** host.json: maxDequeueCount must match QUEUE_MAX_DEQUEUE_COUNT. */
  hostJson: string;
  /** What the broker sends to Application Insights, by path: the alerts and the workbook may read only that. */
  telemetrySources: Record<string, string>;
}

/** The broker files that define its telemetry: names, dimensions and the values they take. */
export const TELEMETRY_SOURCE_FILES: readonly string[] = [
  'shared/telemetry/telemetry.ts',
  'shared/telemetry/applicationInsights.ts',
  'shared/telemetry/queueLength.ts',
  'shared/issuance/pipeline.ts',
  'shared/contract/errors.ts',
];

export function loadInfraSources(repoRoot: string): InfraSources {
  const infraDir = path.join(repoRoot, 'infra');
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(bicep|json|bicepparam)$/.test(name)) {
        files[path.relative(infraDir, full).split(path.sep).join('/')] = readFileSync(full, 'utf8');
      }
    }
  };
  walk(infraDir);
  return {
    files,
    settingsSource: readFileSync(path.join(repoRoot, 'shared', 'config', 'settings.ts'), 'utf8'),
    hostJson: readFileSync(path.join(repoRoot, 'host.json'), 'utf8'),
    telemetrySources: Object.fromEntries(
      TELEMETRY_SOURCE_FILES.map((file) => [file, readFileSync(path.join(repoRoot, file), 'utf8')]),
    ),
  };
}

interface LocatedResource extends BicepResource {
  file: string;
}

/** The parsed templates, with the look-ups the checks share. */
export class Infra {
  readonly bicep = new Map<string, BicepFile>();

  constructor(readonly sources: InfraSources) {
    for (const [file, text] of Object.entries(sources.files)) {
      if (file.endsWith('.bicep')) this.bicep.set(file, parseBicep(text));
    }
  }

  get main(): BicepFile {
    const main = this.bicep.get('main.bicep');
    if (!main) throw new Error('infra/main.bicep is missing');
    return main;
  }

  resources(type: string, options: { includeExisting?: boolean } = {}): LocatedResource[] {
    const found: LocatedResource[] = [];
    for (const [file, parsed] of this.bicep) {
      for (const resource of parsed.resources) {
        if (resource.type.toLowerCase() !== type.toLowerCase()) continue;
        if (resource.existing && !options.includeExisting) continue;
        found.push({ ...resource, file });
      }
    }
    return found;
  }

  /** The single declared (not `existing`) resource of a type; a problem if there is none or several. */
  only(type: string, problems: string[]): LocatedResource | undefined {
    const found = this.resources(type);
    if (found.length !== 1) {
      problems.push(`expected exactly one ${type} resource, found ${found.length}`);
      return undefined;
    }
    return found[0];
  }

  /** A module's file name for a `module … '<path>'` declared in `fromFile`. */
  moduleTarget(fromFile: string, modulePath: string): string {
    return path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), modulePath));
  }

  /** Where a parameter of `file` gets its value: the argument of every module call of that file. */
  argumentsFor(file: string, param: string): Array<{ file: string; value: BicepValue }> {
    const found: Array<{ file: string; value: BicepValue }> = [];
    for (const [caller, parsed] of this.bicep) {
      for (const module of parsed.modules) {
        if (this.moduleTarget(caller, module.path) !== file) continue;
        const value = valueAt(module.body, `params.${param}`);
        if (value) found.push({ file: caller, value });
      }
    }
    return found;
  }

  /**
   * The entries of an object-valued expression, following vars, union(…) and module parameters across files:
   * how the Function App's app settings are put together.
   */
  objectEntries(
    file: string,
    value: BicepValue | undefined,
    depth = 0,
  ): Map<string, { file: string; value: BicepValue }> {
    const entries = new Map<string, { file: string; value: BicepValue }>();
    if (value === undefined || depth > 10) return entries;
    if (value.kind === 'object') {
      for (const entry of value.entries) entries.set(entry.key, { file, value: entry.value });
      return entries;
    }
    if (value.kind !== 'expression') return entries;
    const raw = value.raw.trim();
    const union = /^union\(([\s\S]*)\)$/.exec(raw);
    if (union) {
      for (const argument of splitArguments(union[1])) {
        const nested = this.objectEntries(file, { kind: 'expression', raw: argument }, depth + 1);
        for (const [key, found] of nested) entries.set(key, found);
      }
      return entries;
    }
    if (/^[A-Za-z_]\w*$/.test(raw)) {
      const parsed = this.bicep.get(file);
      const variable = parsed?.vars.find((candidate) => candidate.name === raw);
      if (variable) return this.objectEntries(file, variable.value, depth + 1);
      if (parsed?.params.some((param) => param.name === raw)) {
        for (const argument of this.argumentsFor(file, raw)) {
          for (const [key, found] of this.objectEntries(argument.file, argument.value, depth + 1)) {
            entries.set(key, found);
          }
        }
      }
    }
    return entries;
  }

  /** A string var or literal, following one level of var reference (for alert queries). */
  stringValue(file: string, value: BicepValue | undefined): string | undefined {
    if (value?.kind === 'string') return value.value;
    if (value?.kind === 'expression' && /^[A-Za-z_]\w*$/.test(value.raw)) {
      const variable = this.bicep.get(file)?.vars.find((candidate) => candidate.name === value.raw);
      return variable?.value.kind === 'string' ? variable.value.value : undefined;
    }
    return undefined;
  }

  /** The role definition id a roleDefinitionId expression names, resolving `roles.x` style var references. */
  roleGuid(file: string, value: BicepValue | undefined): string | undefined {
    const text = sourceOf(value);
    const literal = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(text);
    if (literal) return literal[0].toLowerCase();
    const parsed = this.bicep.get(file);
    for (const match of text.matchAll(/\b([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\b/g)) {
      const variable = parsed?.vars.find((candidate) => candidate.name === match[1]);
      if (!variable) continue;
      const resolved = match[2] === undefined ? variable.value : valueAt(variable.value, match[2]);
      const guid = resolved?.kind === 'string' ? resolved.value : undefined;
      if (guid !== undefined && /^[0-9a-f-]{36}$/i.test(guid)) return guid.toLowerCase();
    }
    return undefined;
  }

  /** The resource a symbol names in a file (`scope: storage`). */
  /**
   * Where a value finally comes from: a parameter is followed to the argument its module call passes, a
   * `module.outputs.x` to that module's output, a var to its value (each step in the file it belongs to).
   */
  origin(
    file: string,
    value: BicepValue | undefined,
    depth = 0,
  ): { file: string; value: BicepValue } | undefined {
    if (value === undefined || depth > 10) return undefined;
    if (value.kind !== 'expression') return { file, value };
    const raw = value.raw.trim();
    const parsed = this.bicep.get(file);
    const output = /^([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)$/.exec(raw);
    if (output) {
      const module = parsed?.modules.find((candidate) => candidate.symbol === output[1]);
      if (!module) return { file, value };
      const target = this.moduleTarget(file, module.path);
      const declared = this.bicep.get(target)?.outputs.find((candidate) => candidate.name === output[2]);
      return declared ? this.origin(target, declared.value, depth + 1) : { file, value };
    }
    if (/^[A-Za-z_]\w*$/.test(raw)) {
      const variable = parsed?.vars.find((candidate) => candidate.name === raw);
      if (variable) return this.origin(file, variable.value, depth + 1);
      if (parsed?.params.some((param) => param.name === raw)) {
        const [argument, ...others] = this.argumentsFor(file, raw);
        if (argument && others.length === 0) return this.origin(argument.file, argument.value, depth + 1);
      }
    }
    return { file, value };
  }

  /** Expression text with the file's vars written out, so what a for-expression really iterates is visible. */
  expandVars(file: string, text: string, depth = 0): string {
    const parsed = this.bicep.get(file);
    if (!parsed || depth > 10) return text;
    return text.replace(/\b[A-Za-z_]\w*\b/g, (name) => {
      const variable = parsed.vars.find((candidate) => candidate.name === name);
      return variable ? `(${this.expandVars(file, sourceOf(variable.value), depth + 1)})` : name;
    });
  }

  symbol(file: string, symbol: string): BicepResource | undefined {
    return this.bicep.get(file)?.resources.find((resource) => resource.symbol === symbol);
  }

  siteAppSettings(site: LocatedResource): Map<string, { file: string; value: BicepValue }> {
    const settings = valueAt(site.body, 'properties.siteConfig.appSettings');
    const entries = new Map<string, { file: string; value: BicepValue }>();
    if (settings?.kind === 'array') {
      for (const item of settings.items) {
        const name = stringAt(item, 'name');
        const value = valueAt(item, 'value');
        if (name !== undefined && value !== undefined) entries.set(name, { file: site.file, value });
      }
      return entries;
    }
    if (settings?.kind === 'for') {
      const source = /\bin\s+items\((.+)\)\s*$/.exec(settings.header);
      if (source) return this.objectEntries(site.file, { kind: 'expression', raw: source[1].trim() });
    }
    return entries;
  }
}

/** Top-level comma-separated arguments of a call's argument text. */
function splitArguments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let current = '';
  for (const char of text) {
    if (char === "'") inString = !inString;
    if (!inString && '([{'.includes(char)) depth++;
    if (!inString && ')]}'.includes(char)) depth--;
    if (!inString && depth === 0 && char === ',') {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

export function isParamReference(file: BicepFile, value: BicepValue | undefined): BicepParam | undefined {
  if (value?.kind !== 'expression') return undefined;
  return file.params.find((param) => param.name === value.raw.trim());
}

export function decorator(param: BicepParam, name: string): string | undefined {
  return param.decorators.find((candidate) => candidate.name === name)?.args;
}

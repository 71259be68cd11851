/** The value tree the Bicep reader produces (see bicepReader.ts), and the look-ups the checks use on it. */

export type BicepValue =
  | { kind: 'string'; value: string }
  /** A string with ${…} interpolation; `raw` is its source text including the quotes. */
  | { kind: 'interpolated'; raw: string; literalParts: string[]; expressions: string[] }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'object'; entries: BicepEntry[] }
  | { kind: 'array'; items: BicepValue[] }
  /** `[for header: body]`; `header` is the text between `for` and the colon. */
  | { kind: 'for'; header: string; condition?: string; body: BicepValue }
  /** Anything else (function calls, references, operators), as source text. */
  | { kind: 'expression'; raw: string };

export interface BicepEntry {
  key: string;
  value: BicepValue;
}

export interface BicepDecorator {
  name: string;
  /** The text between the parentheses, if any. */
  args?: string;
}

export interface BicepParam {
  name: string;
  type: string;
  defaultValue?: BicepValue;
  decorators: BicepDecorator[];
}

export interface BicepVar {
  name: string;
  value: BicepValue;
}

export interface BicepResource {
  symbol: string;
  /** Full type for top-level resources; for a nested resource, the parent's type + '/' + its own. */
  type: string;
  apiVersion?: string;
  existing: boolean;
  condition?: string;
  /** The resource body: an object, or a `for` loop whose body is the object. */
  body: BicepValue;
  /** Symbol of the enclosing resource, for nested declarations. */
  enclosing?: string;
  decorators: BicepDecorator[];
}

export interface BicepModule {
  symbol: string;
  path: string;
  condition?: string;
  body: BicepValue;
}

export interface BicepOutput {
  name: string;
  type: string;
  value: BicepValue;
}

export interface BicepFile {
  targetScope?: string;
  params: BicepParam[];
  vars: BicepVar[];
  resources: BicepResource[];
  modules: BicepModule[];
  outputs: BicepOutput[];
}

export class BicepSyntaxError extends Error {
  constructor(message: string, text: string, offset: number) {
    const line = text.slice(0, offset).split('\n').length;
    super(`${message} (line ${line})`);
    this.name = 'BicepSyntaxError';
  }
}

/** The value at a dotted path through object entries (`properties.siteConfig.minTlsVersion`). */
export function valueAt(value: BicepValue | undefined, path: string): BicepValue | undefined {
  let current = value;
  for (const key of path.split('.')) {
    if (current?.kind === 'for') current = current.body;
    if (current?.kind !== 'object') return undefined;
    current = current.entries.find((entry) => entry.key === key)?.value;
  }
  return current;
}

/** The literal string at `path`, or undefined if it is absent or not a plain string. */
export function stringAt(value: BicepValue | undefined, path: string): string | undefined {
  const found = valueAt(value, path);
  return found?.kind === 'string' ? found.value : undefined;
}

export function booleanAt(value: BicepValue | undefined, path: string): boolean | undefined {
  const found = valueAt(value, path);
  return found?.kind === 'boolean' ? found.value : undefined;
}

/** Source-like text of any value, for assertions on expressions (`appInsights.properties.ConnectionString`). */
export function sourceOf(value: BicepValue | undefined): string {
  if (value === undefined) return '';
  switch (value.kind) {
    case 'string':
      return `'${value.value}'`;
    case 'interpolated':
      return value.raw;
    case 'number':
    case 'boolean':
      return String(value.value);
    case 'null':
      return 'null';
    case 'expression':
      return value.raw;
    case 'object':
      return `{ ${value.entries.map((entry) => `${entry.key}: ${sourceOf(entry.value)}`).join(', ')} }`;
    case 'array':
      return `[ ${value.items.map(sourceOf).join(', ')} ]`;
    case 'for':
      return `[for ${value.header}: ${sourceOf(value.body)}]`;
  }
}

/** Keys of an object value (empty for anything else). */
export function keysOf(value: BicepValue | undefined): string[] {
  return value?.kind === 'object' ? value.entries.map((entry) => entry.key) : [];
}

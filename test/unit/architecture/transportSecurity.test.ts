/**
 * TLS: certificate verification never turned off anywhere in the repository, tests and dev tools included
 * (they trust the test CA instead: a CA bundle, NODE_EXTRA_CA_CERTS, or a test-only `ca`); outside dev/ and
 * test/ no host name check replaced and no TLS below 1.2, and every connection the broker and its CLI open
 * themselves (undici Agents, tls.connect) say TLS 1.2 at least, so `--tls-min-v1.0` in NODE_OPTIONS cannot
 * lower it. Read from the source: its text and its syntax tree.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { sourceFiles } from '../../support/importGraph';
import { REPO_ROOT } from '../../support/teamShared';

/** Where a custom checkServerIdentity may live: the CA pins, which run Node's own check first. */
const PIN_MODULE = 'shared/digicert/tlsPins.ts';

const everyFile = sourceFiles(REPO_ROOT).map((file) =>
  path.relative(REPO_ROOT, file).split(path.sep).join('/'),
);
const outsideDevAndTest = everyFile.filter((file) => !file.startsWith('dev/') && !file.startsWith('test/'));
/** What runs in Azure or on an operator's machine against real services (bench/ talks to local stand-ins). */
const production = outsideDevAndTest.filter((file) => /^(?:functions|shared|cli)\//.test(file));

function textOf(file: string): string {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8');
}

/** Turning certificate verification off: forbidden in every file, tests and dev tools included. */
const VERIFICATION_OFF: [RegExp, string][] = [
  [/rejectUnauthorized\s*:\s*(?:false|0|!1)/, 'turns certificate verification off'],
  // [Z]: the same name, written so that this line does not match itself.
  [/NODE_TLS_REJECT_UNAUTHORI[Z]ED/, 'turns certificate verification off process-wide'],
];

const FORBIDDEN: [RegExp, string][] = [
  ...VERIFICATION_OFF,
  [/checkServerIdentity/, 'replaces the host name check'],
  [/minVersion\s*:\s*['"`](?:TLSv1|TLSv1\.1|SSLv3)['"`]/, 'allows TLS below 1.2'],
  [/secureProtocol|SECLEVEL\s*=\s*0|DEFAULT_MIN_VERSION\s*=|--tls-min-v1\.[01]/, 'weakens the TLS defaults'],
];

/** Each forbidden pattern in `text`, as `file:line: pattern (why)`. */
function findings(file: string, text: string, forbidden = FORBIDDEN): string[] {
  const lines = text.split('\n');
  return forbidden.flatMap(([pattern, why]) =>
    lines.flatMap((line, index) =>
      pattern.test(line) && !(file === PIN_MODULE && pattern.source === 'checkServerIdentity')
        ? [`${file}:${index + 1}: ${line.trim()} (${why})`]
        : [],
    ),
  );
}

/** The object literal an expression is, or that the variable it names was initialised with (same file). */
function objectLiteralOf(
  expression: ts.Expression,
  source: ts.SourceFile,
): ts.ObjectLiteralExpression | undefined {
  if (ts.isObjectLiteralExpression(expression)) return expression;
  if (!ts.isIdentifier(expression)) return undefined;
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === expression.text &&
      node.initializer !== undefined &&
      ts.isObjectLiteralExpression(node.initializer)
    ) {
      found = node.initializer;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function property(literal: ts.ObjectLiteralExpression, name: string): ts.Expression | undefined {
  for (const element of literal.properties) {
    if (ts.isPropertyAssignment(element) && element.name.getText() === name) return element.initializer;
  }
  return undefined;
}

function hasTls12Floor(literal: ts.ObjectLiteralExpression | undefined): boolean {
  const value = literal === undefined ? undefined : property(literal, 'minVersion');
  return value !== undefined && ts.isStringLiteral(value) && ['TLSv1.2', 'TLSv1.3'].includes(value.text);
}

/** Every `new Agent(…)` (undici's or https') and `connect(…)` of node:tls without minVersion TLSv1.2. */
function connectionsWithoutFloor(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const tlsImports = new Set<string>();
  const missing: string[] = [];
  const where = (node: ts.Node): string =>
    `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      ['node:tls', 'tls'].includes(node.moduleSpecifier.text)
    ) {
      const bindings = node.importClause?.namedBindings;
      if (bindings !== undefined && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if ((element.propertyName ?? element.name).text === 'connect') tlsImports.add(element.name.text);
        }
      }
    }
    if (ts.isNewExpression(node) && /(?:^|\.)Agent$/.test(node.expression.getText(source))) {
      const options = node.arguments?.[0];
      const literal = options === undefined ? undefined : objectLiteralOf(options, source);
      const connect = literal === undefined ? undefined : property(literal, 'connect');
      const connectLiteral = connect === undefined ? undefined : objectLiteralOf(connect, source);
      if (!hasTls12Floor(connectLiteral) && !hasTls12Floor(literal))
        missing.push(`${where(node)}: new Agent`);
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression.getText(source);
      if (tlsImports.has(callee) || callee === 'tls.connect') {
        const options = node.arguments[0];
        if (!hasTls12Floor(options === undefined ? undefined : objectLiteralOf(options, source))) {
          missing.push(`${where(node)}: ${callee}()`);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return missing;
}

describe('TLS outside dev/ and test/', () => {
  it('reads the deployed and operator code', () => {
    expect(production.filter((file) => file.startsWith('shared/')).length).toBeGreaterThan(100);
    expect(production).toContain('shared/digicert/transport.ts');
  });

  it('never turns verification off or lowers the TLS version', () => {
    expect(outsideDevAndTest.flatMap((file) => findings(file, textOf(file)))).toEqual([]);
  });

  it('never turns verification off in tests and dev tools either: they trust the test CA', () => {
    expect(everyFile.filter((file) => file.startsWith('test/')).length).toBeGreaterThan(100);
    expect(everyFile.flatMap((file) => findings(file, textOf(file), VERIFICATION_OFF))).toEqual([]);
  });

  it('sets minVersion TLSv1.2 on every Agent and tls.connect', () => {
    expect(production.flatMap((file) => connectionsWithoutFloor(file, textOf(file)))).toEqual([]);
    const checked = production.filter((file) => /new Agent\(|\bconnect\(/.test(textOf(file)));
    expect(checked).toEqual(
      expect.arrayContaining([
        'shared/digicert/transport.ts',
        'shared/doctor/checks/caConnectionChecks.ts',
        'shared/identity/graphSidCheck.ts',
      ]),
    );
  });

  it('lets the pin module replace the host name check only after running it', () => {
    const text = textOf(PIN_MODULE);
    expect(text).toMatch(/import \{[^}]*\bcheckServerIdentity\b[^}]*\} from 'node:tls'/);
    const hook = text.slice(text.indexOf('checkServerIdentity: ('));
    expect(hook.indexOf('checkServerIdentity(host, certificate)')).toBeGreaterThan(0);
    expect(hook.indexOf('checkServerIdentity(host, certificate)')).toBeLessThan(hook.indexOf('chainOf('));
  });

  // The first two samples are put together from parts, so that this file passes its own whole-tree scan.
  it.each([
    [['reject', 'Unauthorized: false,'].join(''), 'turns certificate verification off'],
    [`process.env.${['NODE_TLS', 'REJECT_UNAUTHORIZED'].join('_')} = '0';`, 'process-wide'],
    ['checkServerIdentity: () => undefined,', 'host name check'],
    ["minVersion: 'TLSv1.1',", 'below 1.2'],
    ["ciphers: 'DEFAULT@SECLEVEL=0',", 'weakens'],
  ])('the scan finds %s', (line, why) => {
    expect(findings('shared/x.ts', `const options = {\n  ${line}\n};`)).toEqual([
      expect.stringContaining(why),
    ]);
  });

  it.each([
    ['new Agent({ connect: { timeout: 5 } })', 'new Agent'],
    ['new https.Agent({ keepAlive: true })', 'new Agent'],
    ["import { connect } from 'node:tls';\nconst o = { host: 'h' };\nconnect(o);", 'connect()'],
    ["import tls from 'node:tls';\ntls.connect({ host: 'h', minVersion: 'TLSv1' });", 'tls.connect()'],
  ])('the syntax check finds %s', (code, what) => {
    expect(connectionsWithoutFloor('shared/x.ts', code)).toEqual([expect.stringContaining(what)]);
  });

  it('the syntax check accepts the floor through a variable', () => {
    const code =
      "import { connect } from 'node:tls';\nconst o = { host: 'h', minVersion: 'TLSv1.2' };\nconnect(o);";
    expect(connectionsWithoutFloor('shared/x.ts', code)).toEqual([]);
  });
});

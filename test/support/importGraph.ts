/**
 * Reads every TypeScript file of the project and lists its imports as repository paths (`shared/ledger/types`)
 * or package names (`undici`, `node:fs`), so the layering rules of docs/architecture.md can be checked by a
 * test rather than by review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** The importing file, relative to the repository root, with forward slashes. */
  file: string;
  /** A repository path without extension (`shared/contract/errors`) or a package specifier (`node:fs`). */
  target: string;
  /** `import type …` / `export type …`: erased at compile time, so it carries no run-time dependency. */
  typeOnly: boolean;
  line: number;
}

const SOURCE_FOLDERS = ['functions', 'shared', 'cli', 'dev', 'bench', 'test'];

export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
    }
  };
  for (const folder of SOURCE_FOLDERS) {
    try {
      walk(path.join(root, folder));
    } catch (error) {
      // A folder the project does not have (yet) has nothing to check.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return files.sort();
}

/** The imports of one file's text; `file` is the repository-relative path the text came from. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (!specifier || !ts.isStringLiteralLike(specifier)) return;
    const { line } = source.getLineAndCharacterOfPosition(specifier.getStart(source));
    edges.push({ file, target: resolveSpecifier(file, specifier.text), typeOnly, line: line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((element) => element.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isRequire || callee.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

function resolveSpecifier(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)).replace(/\.(js|ts)$/, '');
}

export function projectImports(root: string): ImportEdge[] {
  return sourceFiles(root).flatMap((full) => {
    const file = path.relative(root, full).split(path.sep).join('/');
    return importsOf(file, readFileSync(full, 'utf8'));
  });
}

/** A layering rule: files under `from` must not import what `forbids` matches, for the reason `why`. */
export interface ImportRule {
  name: string;
  from: (file: string) => boolean;
  forbids: (edge: ImportEdge) => boolean;
  why: string;
}

export function violations(edges: readonly ImportEdge[], rules: readonly ImportRule[]): string[] {
  return rules.flatMap((rule) =>
    edges
      .filter((edge) => rule.from(edge.file) && rule.forbids(edge))
      .map((edge) => `${edge.file}:${edge.line} imports ${edge.target} — ${rule.name}: ${rule.why}`),
  );
}

/** True when `target` is the folder `prefix` or lies below it (`shared/ledger` matches `shared/ledger/types`). */
export function isUnder(target: string, prefix: string): boolean {
  return target === prefix || target.startsWith(`${prefix}/`);
}

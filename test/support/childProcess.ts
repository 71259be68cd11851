/**
 * Our code in a Node process of its own, as an operator or the Functions host starts it: with nothing but
 * the environment it is given (Node reads NODE_EXTRA_CA_CERTS only at start-up, which jest's process is long
 * past). `transpileTree` turns the TypeScript sources into JavaScript in a temporary folder, so a test runs
 * the sources as they are now rather than a stale dist/.
 */
import { execFile, spawnSync, type ExecFileException } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './teamShared';

/** Transpiles `entry` (in the repository) and every relative module it reaches into `outDir`, same layout. */
export async function transpileTree(entry: string, outDir: string): Promise<void> {
  const pending = [path.resolve(REPO_ROOT, entry)];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const target = path.join(outDir, path.relative(REPO_ROOT, file));
    await mkdir(path.dirname(target), { recursive: true });
    const source = await readFile(file, 'utf8');
    if (file.endsWith('.json')) {
      await writeFile(target, source);
      continue;
    }
    for (const match of source.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const base = path.resolve(path.dirname(file), match[1]!);
      const candidates = [`${base}.ts`, path.join(base, 'index.ts'), base];
      const found = candidates.find((candidate) => existsSync(candidate) && /\.(ts|json)$/.test(candidate));
      if (found === undefined) throw new Error(`cannot resolve ${match[1]} from ${file}`);
      pending.push(found);
    }
    const output = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        resolveJsonModule: true,
      },
      fileName: file,
    });
    await writeFile(target.replace(/\.ts$/, '.js'), output.outputText);
  }
}

export interface NodeRun {
  /** The exit code; -1 when the process did not end by itself (killed at the timeout, or by a signal). */
  code: number;
  stdout: string;
  stderr: string;
  error: ExecFileException | null;
}

export interface NodeRunOptions {
  cwd: string;
  /** The whole environment besides PATH, and HOME (which is `cwd`, so no user configuration leaks in). */
  env: Record<string, string>;
  timeoutMs: number;
  /** Let code outside the repository (a transpiled tree) load the repository's node_modules. */
  repositoryModules?: boolean;
}

/**
 * Runs `node <args>` and resolves with how it ended, also when it failed. Asynchronous on purpose: the
 * servers the process talks to (simulator, stand-ins) serve from this process's event loop.
 */
export function runNode(args: string[], options: NodeRunOptions): Promise<NodeRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      {
        cwd: options.cwd,
        timeout: options.timeoutMs,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: options.cwd,
          ...(options.repositoryModules === true ? { NODE_PATH: path.join(REPO_ROOT, 'node_modules') } : {}),
          ...options.env,
        },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr, error });
      },
    );
  });
}

/** Runs a command line tool (openssl, keytool) to its end; its output, or an error with what it printed. */
export function runTool(command: string, args: string[], env: Record<string, string> = {}): string {
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}${result.stdout}`,
    );
  return result.stdout + result.stderr;
}

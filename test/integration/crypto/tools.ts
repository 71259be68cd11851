/**
 * The interop tests run the real readers of what we build: `openssl` (OpenSSL 3) and `keytool` (JDK). Both are
 * installed on developer machines and in CI (.ci); where one is missing the suite is skipped with a message
 * saying so, never passed silently. Secrets go to the tools through the environment, not argv.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(command: string, args: string[], env: Record<string, string> = {}): ToolResult {
  const result = spawnSync(command, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function toolAvailable(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return result.error === undefined && result.status === 0;
}

const PROBES: Record<string, string[]> = { openssl: ['version'], keytool: ['-help'] };

export function describeWithTools(tools: (keyof typeof PROBES)[], name: string, body: () => void): void {
  const missing = tools.filter((tool) => !toolAvailable(tool, PROBES[tool] ?? ['--version']));
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const reason = `skipped: ${missing.join(' and ')} not found on PATH (install openssl / a JRE with keytool; CI does)`;
  describe(name, () => {
    it.skip(reason, () => undefined);
  });
  console.warn(`[${name}] ${reason}`);
}

/** A private temporary folder for one test file; removed in afterAll. */
export function useTempDir(): { path: (name: string) => string } {
  let directory = '';
  beforeAll(() => {
    directory = mkdtempSync(path.join(tmpdir(), 'broker-crypto-'));
  });
  afterAll(() => {
    if (directory) rmSync(directory, { recursive: true, force: true });
  });
  return { path: (name: string) => path.join(directory, name) };
}

export function pemBlocks(text: string, label = 'CERTIFICATE'): string[] {
  return text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g')) ?? [];
}

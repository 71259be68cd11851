/**
 * The broker's host (`npm run host`'s compiled code, dist/dev/host/host.js) as its own process, as an
 * operator runs it: its settings from the environment only, its output kept for the tests to read.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { compiledHostDir, compiledHostScript, launchHost } from '../../dev/host/hostLauncher';
import type { DevPki } from '../../dev/pki/devPki';
import { REPO_ROOT } from './teamShared';

/** The compiled dev/host/ (host.js, submit.js …). */
export const COMPILED_HOST_DIR = compiledHostDir();

/**
 * Compiles the repository when dist/ holds no host yet (`npm test` compiles first; a lone `npx jest <file>`
 * may come before any compile). Throws with the compiler's output when that still gives no host.
 */
export function ensureCompiledHost(): void {
  if (existsSync(compiledHostScript())) return;
  const compiled = spawnSync('npx', ['tsc', '-p', path.join(REPO_ROOT, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  if (!existsSync(compiledHostScript())) {
    throw new Error(`cannot compile the host:\n${compiled.stdout}${compiled.stderr}`);
  }
}

export interface HostProcess {
  child: ChildProcess;
  /** Everything the host wrote to stdout and stderr so far. */
  readonly log: string;
  stop(): Promise<void>;
}

/** Starts the compiled host with exactly `env` (nothing of this process's environment unless passed). */
export function startHostProcess(env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): HostProcess {
  ensureCompiledHost();
  let log = '';
  const host = launchHost({ env, cwd: options.cwd, onOutput: (_stream, text) => (log += text) });
  return {
    child: host.child,
    get log() {
      return log;
    },
    stop: () => host.stop(),
  };
}

export interface HostQueues {
  requestQueue: string;
  resultQueue: string;
  revokeQueue: string;
  revokeResultQueue: string;
}

/** The settings every host of the dev stack needs: its four queues, the dev RA PFX, the simulator as the CA. */
export function devHostSettings(
  pki: DevPki,
  caAuthority: string,
  queues: HostQueues,
): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    PKCS_REQUEST_QUEUE: queues.requestQueue,
    PKCS_RESULT_QUEUE: queues.resultQueue,
    PKCS_REVOKE_QUEUE: queues.revokeQueue,
    PKCS_REVOKE_RESULT_QUEUE: queues.revokeResultQueue,
    RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
    RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
    CA_ALLOWED_HOSTS: caAuthority,
  };
}

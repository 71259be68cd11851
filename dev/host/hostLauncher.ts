/**
 * The broker's local host (the compiled dist/dev/host/host.js) as a process of its own, as an operator runs
 * it: its settings from the environment it is given and nothing else. One launcher for the soak and the
 * tests, so both start, read and stop the host the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { stopChild } from './azurite';
import { repoRoot } from './paths';

/** The line the host writes once it receives from its queues. */
export const HOST_READY_PATTERN = /host: listening on queue/;

/** The compiled dev/host/ (host.js, submit.js …). */
export function compiledHostDir(): string {
  return path.join(repoRoot(), 'dist', 'dev', 'host');
}

export function compiledHostScript(): string {
  return path.join(compiledHostDir(), 'host.js');
}

export type HostStream = 'out' | 'err';

export interface HostLaunchOptions {
  /** The whole environment of the host: nothing of this process's environment unless passed. */
  env: NodeJS.ProcessEnv;
  /** Node's own flags for the host process (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  nodeArgs?: readonly string[];
  /** Working folder; the host reads local.settings.json there, so pick one without a developer's. */
  cwd?: string;
  /** Every chunk of output as it comes. */
  onOutput?: (stream: HostStream, text: string) => void;
  /** Every complete line of output (the last one also without its newline). */
  onLine?: (stream: HostStream, line: string) => void;
}

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchedHost {
  readonly child: ChildProcess;
  /** Settles when the process has ended and its output is read to the end ('close', not 'exit'). */
  readonly closed: Promise<HostExit>;
  /** The hard kill: no shutdown handler runs, messages in hand stay invisible until their timeout. */
  kill(): Promise<HostExit>;
  /** The orderly stop (SIGTERM, the host finishes the messages in hand), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function launchHost(options: HostLaunchOptions): LaunchedHost {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), compiledHostScript()], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const read = (stream: HostStream, source: NodeJS.ReadableStream | null): void => {
    if (source === null) return;
    let rest = '';
    source.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      options.onOutput?.(stream, text);
      if (options.onLine === undefined) return;
      rest += text;
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) options.onLine(stream, line);
    });
    source.on('end', () => {
      if (rest !== '') options.onLine?.(stream, rest);
      rest = '';
    });
  };
  read('out', child.stdout);
  read('err', child.stderr);
  const closed = new Promise<HostExit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    closed,
    kill: () => {
      child.kill('SIGKILL');
      return closed;
    },
    stop: (graceMs) => stopChild(child, graceMs),
  };
}

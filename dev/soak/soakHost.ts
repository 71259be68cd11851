/** The host of a soak: started through the shared launcher, its log kept in a file and scanned as it is written. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { HOST_READY_PATTERN, launchHost, type LaunchedHost } from '../host/hostLauncher';
import type { LogScan } from './audit';

/** Node's own words for an error nobody caught, and the pipeline's for an internal error it did not expect. */
const UNHANDLED_PATTERN = /unhandled|uncaught|failed unexpectedly/i;
const FAILED_DELIVERY_PATTERN = /delivery \d+ of message \S+ failed/;
const POISON_MOVE_PATTERN = /moved to \S+-poison/;
const HOST_START_TIMEOUT_MS = 30_000;

/** The local host as its own process: one "generation" per start. */
export class SoakHost {
  readonly ready: Promise<void>;
  private readonly host: LaunchedHost;
  private readonly logFile: WriteStream;
  private expectedExit = false;

  constructor(
    readonly generation: number,
    env: Record<string, string>,
    cwd: string,
    logPath: string,
    scan: LogScan,
  ) {
    this.logFile = createWriteStream(logPath);
    let readyResolve: () => void = () => undefined;
    let readyReject: (error: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    // Nobody may be waiting when a late generation fails to start: the failure is in the scan either way.
    this.ready.catch(() => undefined);
    const startTimer = setTimeout(
      () => readyReject(new Error(`host ${generation} did not listen within ${HOST_START_TIMEOUT_MS} ms`)),
      HOST_START_TIMEOUT_MS,
    );
    this.host = launchHost({
      env,
      cwd,
      onLine: (stream, line) => {
        this.logFile.write(`${stream} ${line}\n`);
        if (HOST_READY_PATTERN.test(line)) {
          clearTimeout(startTimer);
          readyResolve();
        }
        if (UNHANDLED_PATTERN.test(line)) scan.unhandled.push(`host ${generation}: ${line.slice(0, 300)}`);
        if (FAILED_DELIVERY_PATTERN.test(line)) scan.failedDeliveries += 1;
        if (POISON_MOVE_PATTERN.test(line)) scan.poisonMoves += 1;
      },
    });
    void this.host.closed.then(({ code, signal }) => {
      clearTimeout(startTimer);
      this.logFile.end();
      if (!this.expectedExit) {
        scan.unexpectedExits.push(`host ${generation} exited by itself (code ${code}, signal ${signal})`);
      }
      readyReject(new Error(`host ${generation} exited (code ${code}, signal ${signal}) before it listened`));
    });
  }

  /** The hard kill: no shutdown handler runs, messages in hand stay invisible until their timeout. */
  async kill(): Promise<void> {
    this.expectedExit = true;
    await this.host.kill();
  }

  /** The orderly stop at the end (SIGTERM: the host finishes the messages in hand). */
  async stop(): Promise<void> {
    this.expectedExit = true;
    await this.host.stop(10_000);
    await this.host.closed;
  }
}

/**
 * The end-to-end run behind bench group 6: Azurite behind a counting proxy, the PKI-WS simulator issuing at
 * once (no injected delay, no faults), the real host process (dist/dev/host/host.js, `--cpu-prof`), and a
 * keygen-only process as the baseline, alternating round by round so both see the same machine.
 *
 * Round 0 is the cold start: its requests are on the queue before the host process starts (a burst meeting a
 * new instance). Rounds 1…R put N requests on the queue at once and wait for every result; the host's CPU
 * (all threads, from /proc) and the storage and CA calls are counted from the first send until the request
 * queue is empty again.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { QueueClient } from '@azure/storage-queue';
import { azuriteConnectionString, startAzurite, type RunningAzurite } from '../../dev/host/azurite';
import {
  compiledHostScript,
  HOST_READY_PATTERN,
  launchHost,
  type LaunchedHost,
} from '../../dev/host/hostLauncher';
import { ensureDevPki } from '../../dev/pki/devPki';
import { startPkiWsSimulator, type Simulator } from '../../dev/simulator/server';
import { soakRequest } from '../../dev/soak/messages';
import { hostBatchSize } from '../../dev/soak/settings';
import { ResultCollector } from '../../dev/soak/resultCollector';
import { roundOrder } from '../stats';
import { summarizeProfileByStage, type CpuProfile, type StageSummary } from './cpuProfile';
import {
  machineBusyMs,
  parseTraceGcLine,
  PROFILER_THREAD,
  processCpuMs,
  processMemory,
  processStatusBytes,
  threadCpuDelta,
  threadCpuMs,
} from './procStats';
import { countDelta, startCountingProxy, type CountingProxy, type StorageCounts } from './storageProxy';

const run = promisify(execFile);

export interface E2eOptions {
  requests: number;
  rounds: number;
  /** Keys the baseline process generates per round (two at a time). */
  baselineKeys: number;
  /** Requests of the cold-start round. */
  coldStartRequests: number;
  /** Run the host with --cpu-prof (and --trace-gc for its heap size). */
  cpuProfile: boolean;
  timeoutMs: number;
  /** Messages the host takes per receive (default host.json's batchSize), set as Azure's app-setting override. */
  batchSize?: number;
  /** Messages in hand at which it takes the next batch (default host.json's newBatchThreshold), likewise. */
  newBatchThreshold?: number;
  /** The simulator profile the requests ask for (default the soak's RSA-2048 user profile). */
  profileOid?: string;
}

export interface HostRound {
  requests: number;
  hostCpuMs: number;
  /** Busy CPU of the whole machine while the round ran (the host, Azurite, the simulator, this process …). */
  machineCpuMs: number;
  threadCpuMs: Record<string, number>;
  wallMs: number;
  latenciesMs: number[];
  failed: number;
  storage: StorageCounts;
  caCalls: Record<string, number>;
  rssBytes: number;
}

export interface BaselineRound {
  keys: number;
  cpuMs: number;
  wallMs: number;
  cpuPerKeyMs: number;
}

export interface E2eResult {
  options: E2eOptions;
  hostRounds: HostRound[];
  baselineRounds: BaselineRound[];
  coldStart: { spawnToReadyMs: number; spawnToFirstResultMs: number; readyToFirstResultMs: number };
  peakRssBytes: number;
  rssAnonBytes: number;
  rssFileBytes: number;
  /** The largest V8 heap after a GC, used and committed (from --trace-gc), in bytes. */
  heap?: { usedBytes: number; committedBytes: number };
  /** The main thread's profile over the measured rounds. */
  stages?: StageSummary;
  /** Storage requests while the host sat idle between rounds, per second (its polling). */
  idlePollingPerSecond: number;
  hostBatchSize: number;
}

const QUEUES = { request: 'bench-requests', result: 'bench-results' };

/** Monotonic microseconds: the clock of V8's profile timestamps (CLOCK_MONOTONIC on Linux). */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Set when the host process ends before the bench stops it. */
let hostExit: string | undefined;

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (hostExit !== undefined)
      throw new Error(`e2e bench: the host exited (${hostExit}) waiting for ${what}`);
    if (Date.now() > deadline)
      throw new Error(`e2e bench: ${what} not within ${Math.round(timeoutMs / 1000)} s`);
    await delay(20);
  }
}

async function runBaseline(keys: number): Promise<BaselineRound> {
  const script = path.join(__dirname, 'keygenBaseline.js');
  const { stdout } = await run(process.execPath, [script, String(keys)], {
    env: { PATH: process.env.PATH ?? '' },
  });
  return JSON.parse(stdout.trim()) as BaselineRound;
}

export async function runEndToEnd(options: E2eOptions, progress: (line: string) => void): Promise<E2eResult> {
  if (process.platform !== 'linux') throw new Error('e2e bench: reads the host CPU from /proc, Linux only');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-bench-e2e-'));
  const profileDir = path.join(dir, 'profile');
  mkdirSync(profileDir);
  let azurite: RunningAzurite | undefined;
  let proxy: CountingProxy | undefined;
  let simulator: Simulator | undefined;
  let host: LaunchedHost | undefined;
  let collector: ResultCollector | undefined;
  // The host's last lines, shown when the run fails.
  const hostTail: string[] = [];
  hostExit = undefined;
  try {
    if (!existsSync(compiledHostScript()))
      throw new Error(`e2e bench: ${compiledHostScript()} is missing: compile first`);
    const pki = await ensureDevPki(path.join(dir, 'pki'));
    azurite = await startAzurite();
    proxy = await startCountingProxy({
      blob: azurite.blobPort,
      queue: azurite.queuePort,
      table: azurite.tablePort,
    });
    simulator = await startPkiWsSimulator({ pki, recordBodies: false, maxReceived: 0 });
    const requestQueue = new QueueClient(azurite.connectionString, QUEUES.request);
    const resultQueue = new QueueClient(azurite.connectionString, QUEUES.result);
    await Promise.all([requestQueue.createIfNotExists(), resultQueue.createIfNotExists()]);

    const roundIds = [
      options.coldStartRequests,
      ...Array.from({ length: options.rounds }, () => options.requests),
    ].map((count, round) => Array.from({ length: count }, (_, index) => `bench-${round}-${index + 1}`));
    const allIds = roundIds.flat();
    const indexOf = new Map(allIds.map((id, index) => [id, index + 1]));
    collector = new ResultCollector(resultQueue, indexOf, progress, () => undefined);
    const answers = collector.answers;
    const authority = simulator.authority;
    const submittedAt = new Map<string, number>();
    const submit = async (ids: string[]): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length) {
          const id = ids[next]!;
          next += 1;
          const request = soakRequest(indexOf.get(id)!, id, authority, pki.recipient.certPem);
          if (options.profileOid !== undefined) request.certificateTemplateName = options.profileOid;
          const body = JSON.stringify(request);
          await requestQueue.sendMessage(body);
          submittedAt.set(id, Date.now());
        }
      };
      await Promise.all(Array.from({ length: 32 }, () => worker()));
    };
    const queueEmpty = async (): Promise<boolean> =>
      ((await requestQueue.getProperties()).approximateMessagesCount ?? 1) === 0;

    // The host's environment: storage through the counting proxy, the simulator as CA, production timings.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      AzureWebJobsStorage: azuriteConnectionString('127.0.0.1', proxy.ports),
      PKCS_REQUEST_QUEUE: QUEUES.request,
      PKCS_RESULT_QUEUE: QUEUES.result,
      RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
      RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
      RA_CERT_THUMBPRINT: pki.ra.thumbprint,
      CA_ALLOWED_HOSTS: authority,
      NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
      ...(options.batchSize === undefined
        ? {}
        : { AzureFunctionsJobHost__extensions__queues__batchSize: String(options.batchSize) }),
      ...(options.newBatchThreshold === undefined
        ? {}
        : {
            AzureFunctionsJobHost__extensions__queues__newBatchThreshold: String(options.newBatchThreshold),
          }),
    };

    // Round 0, the cold start: the burst waits on the queue before the process exists.
    const coldIds = roundIds[0]!;
    await submit(coldIds);
    progress(`e2e: ${coldIds.length} requests queued; starting the host`);
    let heap: E2eResult['heap'];
    let readyAt = 0;
    const spawnedAt = Date.now();
    host = launchHost({
      env,
      nodeArgs: options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--trace-gc'] : [],
      cwd: dir,
      onLine: (_stream, line) => {
        hostTail.push(line);
        if (hostTail.length > 40) hostTail.shift();
        if (readyAt === 0 && HOST_READY_PATTERN.test(line)) readyAt = Date.now();
        const gc = parseTraceGcLine(line);
        if (gc !== undefined) {
          heap = {
            usedBytes: Math.max(heap?.usedBytes ?? 0, gc.usedBytes),
            committedBytes: Math.max(heap?.committedBytes ?? 0, gc.committedBytes),
          };
        } else if (/failed|error|unhandled/i.test(line)) progress(`host: ${line.slice(0, 300)}`);
      },
    });
    const pid = host.child.pid;
    if (pid === undefined) throw new Error('e2e bench: the host did not start');
    void host.closed.then(({ code, signal }) => (hostExit ??= `code ${code}, signal ${signal}`));
    let firstResultAt = 0;
    await waitFor(() => coldIds.some((id) => answers.has(id)), options.timeoutMs, 'the first result');
    firstResultAt = Math.min(...coldIds.flatMap((id) => answers.get(id)?.receivedAt ?? []));
    await waitFor(() => coldIds.every((id) => answers.has(id)), options.timeoutMs, 'the cold-start results');
    await waitFor(queueEmpty, options.timeoutMs, 'an empty request queue');
    progress(`e2e: cold start: first result ${firstResultAt - spawnedAt} ms after the process started`);

    // What the host costs idle: its polling while nothing is queued.
    const idleBefore = proxy.snapshot();
    const idleStarted = Date.now();
    await delay(3000);
    const idleCounts = countDelta(idleBefore, proxy.snapshot());
    const idlePollingPerSecond =
      [...idleCounts.values()].reduce((sum, value) => sum + value, 0) / ((Date.now() - idleStarted) / 1000);

    const hostRounds: HostRound[] = [];
    const baselineRounds: BaselineRound[] = [];
    let windowFromUs: number | undefined;
    let windowToUs = 0;
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const part of roundOrder(['host', 'baseline'] as const, round)) {
        if (part === 'baseline') {
          const baseline = await runBaseline(options.baselineKeys);
          baselineRounds.push(baseline);
          progress(`e2e: round ${round}: baseline ${baseline.cpuPerKeyMs.toFixed(1)} ms CPU per key`);
          continue;
        }
        const ids = roundIds[round]!;
        const storageBefore = proxy.snapshot();
        const caBefore = { ...simulator.stats().requests };
        const threadsBefore = threadCpuMs(pid);
        const cpuBefore = processCpuMs(pid);
        const machineBefore = machineBusyMs();
        windowFromUs ??= monotonicUs();
        const started = Date.now();
        await submit(ids);
        await waitFor(
          () => ids.every((id) => answers.has(id)),
          options.timeoutMs,
          `round ${round}'s results`,
        );
        const lastResultAt = Math.max(...ids.map((id) => answers.get(id)!.receivedAt));
        const machineCpuMs = machineBusyMs() - machineBefore;
        await waitFor(queueEmpty, options.timeoutMs, 'an empty request queue');
        const threads = threadCpuDelta(threadsBefore, threadCpuMs(pid));
        const profilerCpuMs = [...threads].find(([name]) => name.startsWith(PROFILER_THREAD))?.[1] ?? 0;
        const hostCpuMs = processCpuMs(pid) - cpuBefore - profilerCpuMs;
        windowToUs = monotonicUs();
        const caAfter = simulator.stats().requests;
        const record: HostRound = {
          requests: ids.length,
          hostCpuMs,
          machineCpuMs,
          threadCpuMs: Object.fromEntries(threads),
          wallMs: lastResultAt - started,
          latenciesMs: ids.map((id) => answers.get(id)!.receivedAt - submittedAt.get(id)!),
          failed: ids.filter((id) => answers.get(id)!.status !== 'issued').length,
          storage: countDelta(storageBefore, proxy.snapshot()),
          caCalls: Object.fromEntries(
            Object.entries(caAfter)
              .map(([service, count]) => [service, count - (caBefore[service as keyof typeof caBefore] ?? 0)])
              .filter(([, count]) => count !== 0),
          ),
          rssBytes: processMemory(pid).rssBytes,
        };
        hostRounds.push(record);
        progress(
          `e2e: round ${round}: ${ids.length} certificates in ${(record.wallMs / 1000).toFixed(1)} s, ` +
            `${(hostCpuMs / ids.length).toFixed(1)} ms host CPU each${record.failed ? `, ${record.failed} failed` : ''}`,
        );
      }
    }
    const memory = processMemory(pid);
    const rssAnonBytes = processStatusBytes(pid, 'RssAnon');
    const rssFileBytes = processStatusBytes(pid, 'RssFile');
    await collector.stop();
    collector = undefined;
    hostExit = 'stopped by the bench';
    // SIGTERM: the host stops polling and exits, and Node writes the profile on the way out.
    await host.stop(20_000);
    await host.closed;
    host = undefined;
    let stages: StageSummary | undefined;
    if (options.cpuProfile) {
      const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
      if (file === undefined) progress('e2e: the host wrote no CPU profile');
      else {
        const profile = JSON.parse(readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile;
        stages = summarizeProfileByStage(profile, { fromUs: windowFromUs, toUs: windowToUs, top: 4 });
      }
    }
    return {
      options,
      hostRounds,
      baselineRounds,
      coldStart: {
        spawnToReadyMs: readyAt - spawnedAt,
        spawnToFirstResultMs: firstResultAt - spawnedAt,
        readyToFirstResultMs: firstResultAt - readyAt,
      },
      peakRssBytes: memory.peakRssBytes,
      rssAnonBytes,
      rssFileBytes,
      heap,
      stages,
      idlePollingPerSecond,
      hostBatchSize: options.batchSize ?? hostBatchSize(),
    };
  } catch (error) {
    if (hostTail.length > 0) progress(`e2e: the host's last lines:\n${hostTail.join('\n')}`);
    throw error;
  } finally {
    await collector?.stop().catch(() => undefined);
    await host?.kill().catch(() => undefined);
    await simulator?.close().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    await azurite?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

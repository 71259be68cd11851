/**
 * The soak test: N requests through the local host (its own process, as in production) against the PKI-WS
 * simulator with random faults, one hard kill and restart of the host midway, then an audit of the queues
 * and the CA's books. It answers the questions of "never lose a request, never issue twice": did every
 * request get a result, were repeated results identical, does each seat hold at most one valid certificate,
 * was every stray revoked, did anything go unhandled — and, for the record, throughput and latency.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../host/azurite';
import { compiledHostScript } from '../host/hostLauncher';
import { ensureDevPki } from '../pki/devPki';
import { startPkiWsSimulator, type Simulator } from '../simulator/server';
import { auditSoak, type LogScan, type SoakKill, type SoakReport } from './audit';
import { soakRequest } from './messages';
import { RequestSubmitter } from './requestSubmitter';
import { ResultCollector } from './resultCollector';
import {
  checkOptions,
  DEFAULT_ALLOWED_FAILURE_CODES,
  DEFAULT_SOAK_HOST_SETTINGS,
  hostBatchSize,
  soakHostEnvironment,
  SOAK_FAULT_MIX,
  SOAK_FAULT_SERVICES,
  type SoakHostSettings,
  type SoakOptions,
} from './settings';
import { SoakHost } from './soakHost';
import { delay, describe } from './waiting';

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  checkOptions(options);
  const log = options.log ?? (() => undefined);
  const hostSettings: SoakHostSettings = { ...DEFAULT_SOAK_HOST_SETTINGS, ...options.host };
  const faultDelayMs = options.faultDelayMs ?? hostSettings.caRequestTimeoutMs + 1000;
  const seed = options.seed ?? randomBytes(4).readUInt32BE(0);
  const killHostAt = options.killHostAt === undefined ? 0.5 : options.killHostAt;
  const concurrencySubmit = Math.max(1, options.concurrencySubmit ?? 16);
  const maxOutstanding = options.maxOutstanding ?? null;
  const allowedFailureCodes = [...(options.allowedFailureCodes ?? DEFAULT_ALLOWED_FAILURE_CODES)];
  const settleMs = options.settleMs ?? (hostSettings.queueVisibilityTimeoutSeconds * 3 + 10) * 1000;
  const hostScript = compiledHostScript();
  if (!existsSync(hostScript)) {
    throw new Error(`runSoak: ${hostScript} is missing: compile first (npm run compile)`);
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'soak-'));
  const logDir = path.join(dir, 'logs');
  const scan: LogScan = { unhandled: [], unexpectedExits: [], failedDeliveries: 0, poisonMoves: 0 };
  const ownUnhandled = (reason: unknown): void => {
    scan.unhandled.push(`soak process: unhandled rejection: ${describe(reason)}`);
  };
  process.on('unhandledRejection', ownUnhandled);

  let azurite: RunningAzurite | undefined;
  let simulator: Simulator | undefined;
  let host: SoakHost | undefined;
  let keepLogs = options.keepLogs === true;
  try {
    log(
      `soak: ${options.requests} requests, fault rate ${options.faultRate}, seed ${seed}, searchCertificate from ${options.searchStartIndexBase ?? 0}`,
    );
    const pki = await ensureDevPki(path.join(dir, 'pki'));
    mkdirSync(logDir);
    azurite = await startAzurite();
    simulator = await startPkiWsSimulator({
      pki,
      recordBodies: false,
      maxReceived: 0,
      searchReading: { startIndexBase: options.searchStartIndexBase ?? 0 },
    });
    simulator.faults.setRandom({
      rate: options.faultRate,
      seed,
      mix: { ...SOAK_FAULT_MIX },
      delayMs: faultDelayMs,
      services: [...SOAK_FAULT_SERVICES],
    });

    const queues = { request: 'soak-requests', result: 'soak-results' };
    const hostEnv = soakHostEnvironment({
      storageConnectionString: azurite.connectionString,
      queues,
      pki,
      caAuthority: simulator.authority,
      hostSettings,
      extra: options.hostEnv,
    });
    let generation = 0;
    const startHost = async (): Promise<SoakHost> => {
      generation += 1;
      // cwd is the soak's own folder: a developer's local.settings.json must not leak into the run.
      const started = new SoakHost(
        generation,
        hostEnv,
        dir,
        path.join(logDir, `host-${generation}.log`),
        scan,
      );
      await started.ready;
      return started;
    };
    host = await startHost();
    log('soak: host listening');

    const requestQueue = new QueueClient(azurite.connectionString, queues.request);
    const resultQueue = new QueueClient(azurite.connectionString, queues.result);
    const poisonQueue = new QueueClient(azurite.connectionString, `${queues.request}-poison`);
    await Promise.all([requestQueue.createIfNotExists(), resultQueue.createIfNotExists()]);

    const runTag = randomBytes(3).toString('hex');
    const ids = Array.from({ length: options.requests }, (_, index) => `soak-${runTag}-${index + 1}`);
    const indexOf = new Map(ids.map((id, index) => [id, index + 1]));
    // The collector reads from now on; its first callback comes after an await, when the submitter exists.
    const collector = new ResultCollector(resultQueue, indexOf, log, () => submitter.wake());
    const { answers } = collector;

    const started = Date.now();
    const authority = simulator.authority;
    const submitter = new RequestSubmitter(
      requestQueue,
      {
        ids,
        concurrency: concurrencySubmit,
        maxOutstanding,
        body: (index, id) => JSON.stringify(soakRequest(index + 1, id, authority, pki.recipient.certPem)),
        answered: () => answers.size,
        log,
      },
      started,
    );
    let submitError: unknown;
    submitter.finished.catch((error: unknown) => (submitError = error));

    const deadline = started + options.timeoutMs;
    const killThreshold = killHostAt === null ? undefined : Math.max(1, Math.ceil(killHostAt * ids.length));
    let kill: SoakKill | null = null;
    let lastProgress = started;
    while (answers.size < ids.length && Date.now() < deadline && submitError === undefined) {
      if (killThreshold !== undefined && kill === null && answers.size >= killThreshold) {
        const atMs = Date.now() - started;
        const resultsBefore = answers.size;
        const submittedBefore = submitter.submitted;
        await host.kill();
        log(`soak: host killed (SIGKILL) after ${resultsBefore} results, ${atMs} ms in`);
        const killedAt = Date.now();
        host = await startHost();
        kill = { atMs, resultsBefore, submittedBefore, restartMs: Date.now() - killedAt };
        log(`soak: host restarted in ${kill.restartMs} ms`);
      }
      if (Date.now() - lastProgress >= 5000) {
        lastProgress = Date.now();
        log(
          `soak: ${answers.size}/${ids.length} results after ${Math.round((lastProgress - started) / 1000)} s`,
        );
      }
      await delay(50);
    }
    submitter.stop();
    if (submitError !== undefined) throw submitError;
    await submitter.finished;
    const answeredAll = answers.size === ids.length;
    log(
      answeredAll
        ? `soak: every request has a result after ${collector.lastFirstResultAt - started} ms; letting the queues drain`
        : `soak: timed out with ${answers.size}/${ids.length} results`,
    );

    // Late repeats: a message whose result went out just before the kill comes back after its visibility
    // timeout and publishes again. Wait until nothing is left anywhere, so those repeats are counted too.
    const settleDeadline = Date.now() + (answeredAll ? settleMs : Math.min(settleMs, 2000));
    let leftInQueues = Number.NaN;
    while (Date.now() < settleDeadline) {
      const counts = await Promise.all(
        [requestQueue, poisonQueue, resultQueue].map((queue) =>
          queue
            .getProperties()
            .then((properties) => properties.approximateMessagesCount ?? 0)
            // Not lost: a queue that cannot be counted makes the sum NaN, which the audit reports as unknown.
            .catch(() => Number.NaN),
        ),
      );
      leftInQueues = counts.reduce((sum, count) => sum + count, 0);
      if (leftInQueues === 0) break;
      await delay(200);
    }
    await collector.stop();
    await host.stop();
    host = undefined;

    const report = auditSoak({
      ids,
      indexOf,
      submittedAt: submitter.submittedAt,
      answers,
      unknownResults: collector.unknownResults,
      ca: { certificates: simulator.issued, stats: simulator.stats(), account: simulator.accountAudit() },
      scan,
      started,
      submitDoneAt: submitter.doneAt,
      lastFirstResultAt: collector.lastFirstResultAt,
      kill,
      killThreshold,
      leftInQueues,
      settings: {
        requests: options.requests,
        faultRate: options.faultRate,
        seed,
        faultDelayMs,
        faultMix: { ...SOAK_FAULT_MIX },
        faultServices: [...SOAK_FAULT_SERVICES],
        killHostAt,
        concurrencySubmit,
        maxOutstanding,
        timeoutMs: options.timeoutMs,
        host: hostSettings,
        hostBatchSize: hostBatchSize(),
        hostEnv: { ...options.hostEnv },
        allowedFailureCodes,
      },
    });
    if (!report.passed && options.keepLogs !== false) keepLogs = true;
    if (keepLogs) report.logDir = logDir;
    return report;
  } catch (error) {
    if (options.keepLogs !== false) {
      keepLogs = true;
      log(`soak: host logs kept in ${logDir}`);
    }
    throw error;
  } finally {
    process.off('unhandledRejection', ownUnhandled);
    // Teardown goes on past a failure, so the other servers still stop; each failure is logged, not hidden.
    const teardownFailed = (what: string) => (error: unknown) =>
      log(`soak: teardown: cannot ${what}: ${describe(error)}`);
    await host?.kill().catch(teardownFailed('kill the host'));
    await simulator?.close().catch(teardownFailed('close the simulator'));
    await azurite?.stop().catch(teardownFailed('stop Azurite'));
    // The PKI (dev keys) goes in any case; the logs stay when asked for or when something failed.
    if (keepLogs) rmSync(path.join(dir, 'pki'), { recursive: true, force: true });
    else rmSync(dir, { recursive: true, force: true });
  }
}

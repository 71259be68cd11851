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
import { auditSoak, type Answer, type LogScan, type SoakKill, type SoakReport } from './audit';
import { readAnswer, soakRequest } from './messages';
import {
  checkOptions,
  DEFAULT_ALLOWED_FAILURE_CODES,
  DEFAULT_SOAK_HOST_SETTINGS,
  hostBatchSize,
  SOAK_FAULT_MIX,
  SOAK_FAULT_SERVICES,
  type SoakHostSettings,
  type SoakOptions,
} from './settings';
import { SoakHost } from './soakHost';

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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
    const hostEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AzureWebJobsStorage: azurite.connectionString,
      PKCS_REQUEST_QUEUE: queues.request,
      PKCS_RESULT_QUEUE: queues.result,
      RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
      RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
      RA_CERT_THUMBPRINT: pki.ra.thumbprint,
      CA_ALLOWED_HOSTS: simulator.authority,
      NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
      CA_CONNECT_TIMEOUT_MS: String(hostSettings.caConnectTimeoutMs),
      CA_REQUEST_TIMEOUT_MS: String(hostSettings.caRequestTimeoutMs),
      CA_MAX_ATTEMPTS: String(hostSettings.caMaxAttempts),
      CA_RETRY_BASE_DELAY_MS: String(hostSettings.caRetryBaseDelayMs),
      QUEUE_VISIBILITY_TIMEOUT_SECONDS: String(hostSettings.queueVisibilityTimeoutSeconds),
      QUEUE_MAX_DEQUEUE_COUNT: String(hostSettings.queueMaxDequeueCount),
      CA_CIRCUIT_HALF_OPEN_MS: String(hostSettings.caCircuitHalfOpenMs),
      CA_LATE_ISSUE_WINDOW_SECONDS: String(hostSettings.caLateIssueWindowSeconds),
      REQUEST_DEFER_MIN_SECONDS: String(hostSettings.requestDeferMinSeconds),
      ...options.hostEnv,
    };
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
    const submittedAt = new Map<string, number>();
    const answers = new Map<string, Answer>();
    const unknownResults: string[] = [];
    const seenMessageIds = new Set<string>();
    let collecting = true;
    let lastFirstResultAt = 0;
    /** Submitters waiting for a request to be answered (maxOutstanding). */
    const waitingSubmitters = new Set<() => void>();

    const collector = (async () => {
      while (collecting) {
        let items;
        try {
          ({ receivedMessageItems: items } = await resultQueue.receiveMessages({
            numberOfMessages: 32,
            visibilityTimeout: 60,
          }));
        } catch (error) {
          log(`soak: cannot read the result queue: ${describe(error)}`);
          await delay(250);
          continue;
        }
        const receivedAt = Date.now();
        for (const item of items) {
          // A result message seen again (its delete got lost) is not a second result.
          if (seenMessageIds.has(item.messageId)) continue;
          seenMessageIds.add(item.messageId);
          const answer = readAnswer(item.messageText);
          const requestId = typeof answer.requestId === 'string' ? answer.requestId : undefined;
          if (requestId === undefined || !indexOf.has(requestId)) {
            unknownResults.push(
              `${requestId === undefined ? '(no requestId)' : requestId} ${answer.status}${answer.errorCode ? ` ${answer.errorCode}` : ''}`,
            );
            continue;
          }
          const known = answers.get(requestId);
          if (known === undefined) {
            answers.set(requestId, {
              text: item.messageText,
              status: answer.status,
              serial: answer.serial,
              errorCode: answer.errorCode,
              receivedAt,
              repeats: 0,
              differingRepeats: 0,
            });
            lastFirstResultAt = receivedAt;
            for (const wake of waitingSubmitters) wake();
            waitingSubmitters.clear();
          } else {
            known.repeats += 1;
            if (item.messageText !== known.text) known.differingRepeats += 1;
          }
        }
        await Promise.all(
          items.map((item) =>
            resultQueue
              .deleteMessage(item.messageId, item.popReceipt)
              .catch((error: unknown) =>
                log(`soak: cannot delete result message ${item.messageId}: ${describe(error)}`),
              ),
          ),
        );
        if (items.length === 0) await delay(100);
      }
    })();

    const started = Date.now();
    let submitDoneAt = started;
    let submitted = 0;
    let stopSubmitting = false;
    const submitter = (async () => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length && !stopSubmitting) {
          if (maxOutstanding !== null) {
            while (!stopSubmitting && submitted - answers.size >= maxOutstanding) {
              await new Promise<void>((resolve) => waitingSubmitters.add(resolve));
            }
          }
          if (stopSubmitting) break;
          const index = next;
          next += 1;
          const id = ids[index]!;
          const body = JSON.stringify(
            soakRequest(index + 1, id, simulator!.authority, pki.recipient.certPem),
          );
          submittedAt.set(id, Date.now());
          submitted += 1;
          for (let attempt = 1; ; attempt += 1) {
            try {
              await requestQueue.sendMessage(body);
              break;
            } catch (error) {
              if (attempt >= 5) throw error;
              await delay(100 * attempt);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: concurrencySubmit }, () => worker()));
      submitDoneAt = Date.now();
      log(`soak: ${submitted} requests submitted in ${submitDoneAt - started} ms`);
    })();
    let submitError: unknown;
    submitter.catch((error: unknown) => (submitError = error));

    const deadline = started + options.timeoutMs;
    const killThreshold = killHostAt === null ? undefined : Math.max(1, Math.ceil(killHostAt * ids.length));
    let kill: SoakKill | null = null;
    let lastProgress = started;
    while (answers.size < ids.length && Date.now() < deadline && submitError === undefined) {
      if (killThreshold !== undefined && kill === null && answers.size >= killThreshold) {
        const atMs = Date.now() - started;
        const resultsBefore = answers.size;
        const submittedBefore = submitted;
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
    stopSubmitting = true;
    for (const wake of waitingSubmitters) wake();
    if (submitError !== undefined) throw submitError;
    await submitter;
    const answeredAll = answers.size === ids.length;
    log(
      answeredAll
        ? `soak: every request has a result after ${lastFirstResultAt - started} ms; letting the queues drain`
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
    collecting = false;
    await collector;
    await host.stop();
    host = undefined;

    const report = auditSoak({
      ids,
      indexOf,
      submittedAt,
      answers,
      unknownResults,
      ca: { certificates: simulator.issued, stats: simulator.stats(), account: simulator.accountAudit() },
      scan,
      started,
      submitDoneAt,
      lastFirstResultAt,
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

/**
 * The soak test: N requests through the local host (its own process, as in production) against the PKI-WS
 * simulator with random faults, one hard kill and restart of the host midway, then an audit of the queues
 * and the CA's books. It answers the questions of "never lose a request, never issue twice": did every
 * request get a result, were repeated results identical, does each seat hold at most one valid certificate,
 * was every stray revoked, did anything go unhandled — and, for the record, throughput and latency.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  type WriteStream,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, stopChild, type RunningAzurite } from '../host/azurite';
import { repoRoot } from '../host/paths';
import { ensureDevPki } from '../pki/devPki';
import { normalizeSerial, type IssuedCertificate } from '../simulator/management';
import {
  startPkiWsSimulator,
  type RandomFaultMix,
  type Simulator,
  type SimulatorService,
} from '../simulator/server';

export const SOAK_PROFILE_OID = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';

/** The host's settings for a soak: short timeouts and quick redeliveries, so faults cost seconds, not minutes. */
export interface SoakHostSettings {
  /**
   * CA_CONNECT_TIMEOUT_MS: the simulator is local and its faults come after the connection, so a short one.
   * It also sizes how long a redelivery waits for an enrollment that a killed host may still be running
   * before it reconciles; that wait has to end before the message runs out of deliveries.
   */
  caConnectTimeoutMs: number;
  /** CA_REQUEST_TIMEOUT_MS: an injected delay longer than this is a timeout for the broker. */
  caRequestTimeoutMs: number;
  /** CA_MAX_ATTEMPTS: tries per CA call within one delivery. */
  caMaxAttempts: number;
  /** CA_RETRY_BASE_DELAY_MS: base of the backoff between those tries. */
  caRetryBaseDelayMs: number;
  /** QUEUE_VISIBILITY_TIMEOUT_SECONDS: how soon a message in the hands of a killed host is delivered again. */
  queueVisibilityTimeoutSeconds: number;
  /** QUEUE_MAX_DEQUEUE_COUNT: deliveries before a message goes to the poison queue (and ends GAVE_UP). */
  queueMaxDequeueCount: number;
  /**
   * CA_CIRCUIT_HALF_OPEN_MS: how long an open circuit refuses CA calls. It must stay well below
   * visibility timeout × deliveries, or one open circuit turns every waiting message into GAVE_UP.
   */
  caCircuitHalfOpenMs: number;
  /**
   * CA_LATE_ISSUE_WINDOW_SECONDS: how long a lost enrollment is waited on before "nothing found" is final. Above
   * the injected delays (a late issue lands within faultDelayMs), far below the production default of 120 s.
   */
  caLateIssueWindowSeconds: number;
  /**
   * REQUEST_DEFER_MIN_SECONDS: how soon a request whose deliveries ran out (several lost answers in a row, each
   * waited on) comes back. The production default of 60 s would outlast the soak's own deadline.
   */
  requestDeferMinSeconds: number;
}

export const DEFAULT_SOAK_HOST_SETTINGS: Readonly<SoakHostSettings> = {
  caConnectTimeoutMs: 1000,
  caRequestTimeoutMs: 1500,
  caMaxAttempts: 3,
  caRetryBaseDelayMs: 100,
  queueVisibilityTimeoutSeconds: 3,
  queueMaxDequeueCount: 8,
  caCircuitHalfOpenMs: 3000,
  caLateIssueWindowSeconds: 10,
  requestDeferMinSeconds: 2,
};

/**
 * Every kind the simulator can inject, with equal weight (no 429s): late answers (delayAfter) and a CA that
 * issues after the broker gave up (lateIssue) among them.
 */
export const SOAK_FAULT_MIX: Readonly<RandomFaultMix> = {
  delayBefore: 1,
  delayAfter: 1,
  http503: 1,
  reset: 1,
  resetAfter: 1,
  transientSoapFault: 1,
  lateIssue: 1,
};

export const SOAK_FAULT_SERVICES: readonly SimulatorService[] = [
  'policyService',
  'enrollmentService',
  'certificateManagementService',
];

/** Failure codes a soak may end with: faults that outlasted every retry. Any other code is a defect. */
export const DEFAULT_ALLOWED_FAILURE_CODES: readonly string[] = ['GAVE_UP', 'CA_TIMEOUT', 'CA_UNAVAILABLE'];

export interface SoakOptions {
  requests: number;
  /** Share of the CA calls (policy, enrollment, management) that meet a fault, 0..1. */
  faultRate: number;
  /** Seed of the simulator's fault generator; random (and reported) when absent. */
  seed?: number;
  /** Kill (SIGKILL) and restart the host when this share of the requests has a result; null: no kill. */
  killHostAt?: number | null;
  /** Messages sent to the request queue at a time (default 16). */
  concurrencySubmit?: number;
  /** At most this many requests without a result at any time; default: all submitted at once (a burst). */
  maxOutstanding?: number;
  /** How long to wait for the results, from the first submit. */
  timeoutMs: number;
  /** How long the injected delays last (default caRequestTimeoutMs + 1000: beyond the broker's timeout). */
  faultDelayMs?: number;
  host?: Partial<SoakHostSettings>;
  /**
   * Where the simulator's searchCertificate counts startIndex from (default 0: the reading a 1-based client
   * gets wrong, skipping the one certificate a reconciliation looks for).
   */
  searchStartIndexBase?: 0 | 1;
  /** Further settings for the host process (e.g. circuit-breaker settings), added to the soak's own. */
  hostEnv?: Record<string, string>;
  allowedFailureCodes?: readonly string[];
  /** After the last result, how long to wait for the queues to drain (late repeats of results). */
  settleMs?: number;
  /** Keep the host logs (in report.logDir) whatever the outcome; by default kept only when a check fails. */
  keepLogs?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface SoakCheck {
  name: string;
  passed: boolean;
  /** One line: counts, or the first offenders. */
  summary: string;
  /** Every offender, one per line (request ids, serials). */
  details: string[];
}

export interface LatencyFigures {
  p50: number;
  p95: number;
  max: number;
}

export interface SoakKill {
  /** Milliseconds after the first submit. */
  atMs: number;
  resultsBefore: number;
  submittedBefore: number;
  /** From the kill until the new host listened. */
  restartMs: number;
}

export interface SoakFigures {
  /** From the first submit to the last first result. */
  wallMs: number;
  submitted: number;
  submitMs: number;
  /** Distinct request ids answered per second of wallMs. */
  throughputPerSecond: number;
  /** Submit to the collector's receipt of the first result, in ms. */
  latencyMs: LatencyFigures | null;
  issued: number;
  failedByCode: Record<string, number>;
  /** Result messages beyond the first for a request id. */
  repeatedResults: number;
  faultsInjected: number;
  faultsByKind: Record<string, number>;
  caRequestsByService: Record<string, number>;
  caCertificates: {
    issued: number;
    valid: number;
    revoked: number;
    revocationReasons: Record<string, number>;
  };
  /** Certificates of our seats other than the one in the seat's issued result, revoked by the CA. */
  straysRevoked: number;
  kill: SoakKill | null;
  /** Host log lines "delivery N of message … failed" (messages left for redelivery). */
  failedDeliveries: number;
  /** Host log lines "moved to …-poison". */
  poisonMoves: number;
  /** Request, poison and result queue messages left after settling. */
  leftInQueues: number;
}

export interface SoakReport {
  passed: boolean;
  settings: {
    requests: number;
    faultRate: number;
    seed: number;
    faultDelayMs: number;
    faultMix: RandomFaultMix;
    faultServices: SimulatorService[];
    killHostAt: number | null;
    concurrencySubmit: number;
    maxOutstanding: number | null;
    timeoutMs: number;
    host: SoakHostSettings;
    /** The host's batch size (host.json extensions.queues.batchSize). */
    hostBatchSize: number;
    hostEnv: Record<string, string>;
    allowedFailureCodes: string[];
  };
  checks: SoakCheck[];
  figures: SoakFigures;
  /** Where the host logs were kept (when they were). */
  logDir?: string;
}

interface Answer {
  text: string;
  status: string;
  serial?: string;
  errorCode?: string;
  receivedAt: number;
  repeats: number;
  differingRepeats: number;
}

interface LogScan {
  unhandled: string[];
  unexpectedExits: string[];
  failedDeliveries: number;
  poisonMoves: number;
}

/** Node's own words for an error nobody caught, and the pipeline's for an internal error it did not expect. */
const UNHANDLED_PATTERN = /unhandled|uncaught|failed unexpectedly/i;
const FAILED_DELIVERY_PATTERN = /delivery \d+ of message \S+ failed/;
const POISON_MOVE_PATTERN = /moved to \S+-poison/;
const HOST_READY_PATTERN = /host: listening on queue/;
const HOST_START_TIMEOUT_MS = 30_000;
const MAX_DETAILS = 200;

/** The local host as its own process: one "generation" per start. */
class HostProcess {
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private readonly logFile: WriteStream;
  private expectedExit = false;
  private readonly exited: Promise<void>;

  constructor(
    readonly generation: number,
    script: string,
    env: Record<string, string>,
    cwd: string,
    logPath: string,
    scan: LogScan,
  ) {
    this.logFile = createWriteStream(logPath);
    this.child = spawn(process.execPath, [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    const onLine = (stream: 'out' | 'err', line: string): void => {
      this.logFile.write(`${stream} ${line}\n`);
      if (HOST_READY_PATTERN.test(line)) {
        clearTimeout(startTimer);
        readyResolve();
      }
      if (UNHANDLED_PATTERN.test(line)) scan.unhandled.push(`host ${generation}: ${line.slice(0, 300)}`);
      if (FAILED_DELIVERY_PATTERN.test(line)) scan.failedDeliveries += 1;
      if (POISON_MOVE_PATTERN.test(line)) scan.poisonMoves += 1;
    };
    splitLines(this.child.stdout, (line) => onLine('out', line));
    splitLines(this.child.stderr, (line) => onLine('err', line));
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': output may still be on its way when the process has exited.
      this.child.once('close', (code, signal) => {
        clearTimeout(startTimer);
        this.logFile.end();
        if (!this.expectedExit) {
          scan.unexpectedExits.push(`host ${generation} exited by itself (code ${code}, signal ${signal})`);
        }
        readyReject(
          new Error(`host ${generation} exited (code ${code}, signal ${signal}) before it listened`),
        );
        resolve();
      });
    });
  }

  /** The hard kill: no shutdown handler runs, messages in hand stay invisible until their timeout. */
  async kill(): Promise<void> {
    this.expectedExit = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The orderly stop at the end (SIGTERM: the host finishes the messages in hand). */
  async stop(): Promise<void> {
    this.expectedExit = true;
    await stopChild(this.child, 10_000);
    await this.exited;
  }
}

function splitLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    rest += chunk.toString('utf8');
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
    rest = '';
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: readonly number[], fraction: number): number {
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkOptions(options: SoakOptions): void {
  if (!Number.isInteger(options.requests) || options.requests < 1) {
    throw new RangeError(`runSoak: requests must be a whole number ≥ 1 (got ${options.requests})`);
  }
  if (!(options.faultRate >= 0 && options.faultRate <= 1)) {
    throw new RangeError(`runSoak: faultRate must be from 0 to 1 (got ${options.faultRate})`);
  }
  const kill = options.killHostAt;
  if (kill !== undefined && kill !== null && !(kill > 0 && kill < 1)) {
    throw new RangeError(`runSoak: killHostAt must be a fraction between 0 and 1, or null (got ${kill})`);
  }
  if (!(options.timeoutMs > 0)) throw new RangeError('runSoak: timeoutMs must be > 0');
}

function hostBatchSize(): number {
  try {
    const hostJson = JSON.parse(readFileSync(path.join(repoRoot(), 'host.json'), 'utf8')) as {
      extensions?: { queues?: { batchSize?: number } };
    };
    return hostJson.extensions?.queues?.batchSize ?? 8;
  } catch {
    return 8;
  }
}

function soakRequest(
  index: number,
  requestId: string,
  authority: string,
  recipientPem: string,
): Record<string, unknown> {
  const email = `soak-${index}@contoso.com`;
  return {
    schemaVersion: 1,
    requestId,
    certificateAuthority: authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: SOAK_PROFILE_OID,
    subjectName: `CN=Soak User ${index},E=${email}`,
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: email },
      { type: 'AltNameTypeUpn', value: email },
    ],
    keySize: 2048,
    recipientCertificate: recipientPem,
    context: { soakIndex: index },
  };
}

function readAnswer(text: string): {
  requestId: unknown;
  status: string;
  serial?: string;
  errorCode?: string;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { requestId: undefined, status: 'unreadable' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { requestId: undefined, status: 'unreadable' };
  const record = parsed as Record<string, unknown>;
  const certificate = record.certificate as Record<string, unknown> | undefined;
  const error = record.error as Record<string, unknown> | undefined;
  return {
    requestId: record.requestId,
    status: typeof record.status === 'string' ? record.status : 'unreadable',
    serial: typeof certificate?.serialNumber === 'string' ? certificate.serialNumber : undefined,
    errorCode: typeof error?.code === 'string' ? error.code : undefined,
  };
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function listed(items: readonly string[], limit = 5): string {
  if (items.length <= limit) return items.join(', ');
  return `${items.slice(0, limit).join(', ')} … (+${items.length - limit})`;
}

function check(name: string, details: string[], passedSummary: string, failedSummary?: string): SoakCheck {
  const passed = details.length === 0;
  return {
    name,
    passed,
    summary: passed ? passedSummary : (failedSummary ?? `${details.length}: ${listed(details, 3)}`),
    details: details.slice(0, MAX_DETAILS),
  };
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
  const hostScript = path.join(repoRoot(), 'dist', 'dev', 'host', 'host.js');
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
  let host: HostProcess | undefined;
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
    const startHost = async (): Promise<HostProcess> => {
      generation += 1;
      // cwd is the soak's own folder: a developer's local.settings.json must not leak into the run.
      const started = new HostProcess(
        generation,
        hostScript,
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

    const report = audit({
      options,
      ids,
      indexOf,
      submittedAt,
      answers,
      unknownResults,
      simulator,
      scan,
      started,
      submitDoneAt,
      lastFirstResultAt,
      kill,
      killThreshold,
      leftInQueues,
      allowedFailureCodes,
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
    await host?.kill().catch(() => undefined);
    await simulator?.close().catch(() => undefined);
    await azurite?.stop().catch(() => undefined);
    // The PKI (dev keys) goes in any case; the logs stay when asked for or when something failed.
    if (keepLogs) rmSync(path.join(dir, 'pki'), { recursive: true, force: true });
    else rmSync(dir, { recursive: true, force: true });
  }
}

interface AuditInput {
  options: SoakOptions;
  ids: string[];
  indexOf: Map<string, number>;
  submittedAt: Map<string, number>;
  answers: Map<string, Answer>;
  unknownResults: string[];
  simulator: Simulator;
  scan: LogScan;
  started: number;
  submitDoneAt: number;
  lastFirstResultAt: number;
  kill: SoakKill | null;
  killThreshold: number | undefined;
  leftInQueues: number;
  allowedFailureCodes: string[];
  settings: SoakReport['settings'];
}

function audit(input: AuditInput): SoakReport {
  const { ids, answers, simulator, scan } = input;
  const seatOf = (id: string): string => `soak-${input.indexOf.get(id)}@contoso.com`;
  const certificatesBySeat = new Map<string, IssuedCertificate[]>();
  for (const certificate of simulator.issued) {
    const seat = (certificate.seatId ?? '').toLowerCase();
    const list = certificatesBySeat.get(seat) ?? [];
    list.push(certificate);
    certificatesBySeat.set(seat, list);
  }
  const describeCertificate = (certificate: IssuedCertificate): string =>
    `${certificate.serialNumber} ${certificate.status}${certificate.revocationReason ? ` (${certificate.revocationReason})` : ''}`;

  const missing: string[] = [];
  const differing: string[] = [];
  const badIssued: string[] = [];
  const severalValid: string[] = [];
  const unrevokedStrays: string[] = [];
  const unexplainedFailures: string[] = [];
  const failedByCode: Record<string, number> = {};
  const latencies: number[] = [];
  let issued = 0;
  let repeatedResults = 0;
  let straysRevoked = 0;
  const ourSeats = new Set<string>();

  for (const id of ids) {
    const seat = seatOf(id);
    ourSeats.add(seat);
    const certificates = certificatesBySeat.get(seat) ?? [];
    const valid = certificates.filter((certificate) => certificate.status === 'VALID');
    const answer = answers.get(id);
    if (answer === undefined) {
      if (!input.submittedAt.has(id)) {
        missing.push(`${id} (never submitted: the soak timed out first)`);
        continue;
      }
      missing.push(
        `${id} (seat ${seat}: ${certificates.length === 0 ? 'no certificate at the CA' : certificates.map(describeCertificate).join(', ')})`,
      );
      continue;
    }
    latencies.push(answer.receivedAt - input.submittedAt.get(id)!);
    repeatedResults += answer.repeats;
    if (answer.differingRepeats > 0) {
      differing.push(
        `${id}: ${answer.differingRepeats} of ${answer.repeats} repeated results differ from the first`,
      );
    }
    if (valid.length > 1) {
      severalValid.push(
        `${id} (seat ${seat}): VALID ${valid.map((certificate) => certificate.serialNumber).join(', ')}; result ${answer.status === 'issued' ? `names ${answer.serial}` : `is ${answer.status} ${answer.errorCode ?? ''}`.trim()}`,
      );
    }
    if (answer.status === 'issued') {
      issued += 1;
      const serial = normalizeSerial(answer.serial ?? '');
      const own = certificates.find((certificate) => normalizeSerial(certificate.serialNumber) === serial);
      if (own === undefined) {
        const elsewhere = input.simulator.issued.find(
          (certificate) => normalizeSerial(certificate.serialNumber) === serial,
        );
        badIssued.push(
          elsewhere === undefined
            ? `${id}: serial ${answer.serial ?? '(none)'} is unknown at the CA`
            : `${id}: serial ${answer.serial} belongs to seat ${elsewhere.seatId ?? '(none)'}, not ${seat}`,
        );
      } else {
        if (own.status !== 'VALID') badIssued.push(`${id}: its certificate ${describeCertificate(own)}`);
        const published = readPublishedPem(answer.text);
        if (published !== undefined && pemBody(published) !== own.certificateDerBase64) {
          badIssued.push(
            `${id}: the certificate in the result is not the one the CA issued as ${own.serialNumber}`,
          );
        }
      }
      for (const certificate of certificates) {
        if (normalizeSerial(certificate.serialNumber) === serial) continue;
        if (certificate.status === 'VALID')
          unrevokedStrays.push(`${id}: stray ${certificate.serialNumber} VALID`);
        else straysRevoked += 1;
      }
    } else {
      const code = answer.errorCode ?? answer.status;
      failedByCode[code] = (failedByCode[code] ?? 0) + 1;
      if (answer.status !== 'failed' || !input.allowedFailureCodes.includes(code)) {
        unexplainedFailures.push(`${id}: ${answer.status} ${answer.errorCode ?? ''}`.trim());
      }
      for (const certificate of certificates) {
        if (certificate.status === 'VALID') {
          unrevokedStrays.push(`${id}: failed (${code}) but ${certificate.serialNumber} is VALID`);
        } else straysRevoked += 1;
      }
    }
  }
  const foreignSeats = [...certificatesBySeat.keys()].filter((seat) => !ourSeats.has(seat));

  const stats = simulator.stats();
  const caAudit = simulator.accountAudit();
  const faultsInjected = stats.faultsBySource.random + stats.faultsBySource.queued;
  const wallMs = Math.max(0, input.lastFirstResultAt - input.started);
  latencies.sort((a, b) => a - b);

  const checks: SoakCheck[] = [
    check(
      'every request has a result (0 lost)',
      missing,
      `${answers.size}/${ids.length}`,
      `${missing.length} of ${ids.length} without a result: ${listed(missing.map((line) => line.split(' ')[0]!))}`,
    ),
    check('no result for an unknown request id', input.unknownResults, 'none'),
    check(
      'repeated results are byte-identical',
      differing,
      `${repeatedResults} repeated result(s), all identical to the first`,
    ),
    check(
      'issued certificates are VALID at the CA, on their seat',
      badIssued,
      `${issued} issued, all VALID and on their seat`,
    ),
    check(
      'at most one VALID certificate per seat',
      [
        ...severalValid,
        ...foreignSeats.map((seat) => `certificates on seat "${seat}", which no request of the soak uses`),
      ],
      `${caAudit.seats.length} seats, none with two`,
      `${caAudit.seatsWithSeveralValid.length} seat(s) with several VALID: ${listed(severalValid.map((line) => line.split(' ')[0]!))}`,
    ),
    check('every stray certificate is revoked', unrevokedStrays, `${straysRevoked} stray(s), all revoked`),
    check(
      `failures only with ${input.allowedFailureCodes.join('/')}`,
      unexplainedFailures,
      Object.keys(failedByCode).length === 0 ? 'no failures' : formatCounts(failedByCode),
    ),
    check(
      'no unhandled error, no host crash',
      [...scan.unexpectedExits, ...groupLines(scan.unhandled)],
      'none',
      scan.unhandled.length + scan.unexpectedExits.length === 0
        ? undefined
        : `${scan.unexpectedExits.length} crash(es), ${scan.unhandled.length} line(s): ${listed(groupLines(scan.unhandled), 1)}`,
    ),
    check(
      'queues drained after the last result',
      input.leftInQueues === 0
        ? []
        : [`${Number.isNaN(input.leftInQueues) ? 'unknown' : input.leftInQueues} message(s) left`],
      'empty',
    ),
    check(
      'faults were injected',
      input.options.faultRate > 0 && faultsInjected === 0 ? ['fault rate > 0 but no fault was injected'] : [],
      `${faultsInjected}`,
    ),
    check(
      'the host was killed mid-run',
      input.killThreshold !== undefined && input.kill === null
        ? [`never reached ${input.killThreshold} results, so the host was never killed`]
        : [],
      input.kill === null ? 'no kill asked for' : `after ${input.kill.resultsBefore} results`,
    ),
  ];

  return {
    passed: checks.every((entry) => entry.passed),
    settings: input.settings,
    checks,
    figures: {
      wallMs,
      submitted: input.submittedAt.size,
      submitMs: input.submitDoneAt - input.started,
      throughputPerSecond: wallMs > 0 ? answers.size / (wallMs / 1000) : 0,
      latencyMs:
        latencies.length === 0
          ? null
          : { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: latencies.at(-1)! },
      issued,
      failedByCode,
      repeatedResults,
      faultsInjected,
      faultsByKind: stats.faults,
      caRequestsByService: Object.fromEntries(
        Object.entries(stats.requests).filter(([, count]) => count > 0),
      ) as Record<string, number>,
      caCertificates: {
        issued: caAudit.certificates,
        valid: caAudit.valid,
        revoked: caAudit.revoked,
        revocationReasons: caAudit.revocationReasons,
      },
      straysRevoked,
      kill: input.kill,
      failedDeliveries: scan.failedDeliveries,
      poisonMoves: scan.poisonMoves,
      leftInQueues: input.leftInQueues,
    },
  };
}

/** Host log lines grouped by their shape (ids and counts taken out): "7× <first line of the kind>". */
function groupLines(lines: readonly string[]): string[] {
  const groups = new Map<string, { count: number; example: string }>();
  for (const line of lines) {
    const shape = line
      .replace(/^host \d+: /, '')
      .replace(/soak-[0-9a-f]+-\d+/g, '<request>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<message>')
      .replace(/\d+/g, 'N');
    const group = groups.get(shape);
    if (group === undefined) groups.set(shape, { count: 1, example: line });
    else group.count += 1;
  }
  return [...groups.values()].map((group) => `${group.count}× ${group.example}`);
}

function readPublishedPem(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { certificate?: { pem?: unknown } };
    return typeof parsed.certificate?.pem === 'string' ? parsed.certificate.pem : undefined;
  } catch {
    return undefined;
  }
}

export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? 'none' : entries.map(([key, count]) => `${key} ${count}`).join(', ');
}

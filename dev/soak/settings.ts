/** What a soak run is asked to do, its defaults, and the host settings that make faults cost seconds. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../host/paths';
import type { DevPki } from '../pki/devPki';
import type { RandomFaultMix, SimulatorService } from '../simulator/server';

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

export function checkOptions(options: SoakOptions): void {
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

/** The host's batch size (host.json extensions.queues.batchSize), for the report. */
export function hostBatchSize(): number {
  try {
    const hostJson = JSON.parse(readFileSync(path.join(repoRoot(), 'host.json'), 'utf8')) as {
      extensions?: { queues?: { batchSize?: number } };
    };
    return hostJson.extensions?.queues?.batchSize ?? 8;
  } catch {
    return 8;
  }
}

/** The host's whole environment for a soak: storage, queues, the RA credential, the CA, the soak's timings. */
export function soakHostEnvironment(run: {
  storageConnectionString: string;
  queues: { request: string; result: string };
  pki: DevPki;
  caAuthority: string;
  hostSettings: SoakHostSettings;
  /** Further settings (SoakOptions.hostEnv), over the soak's own. */
  extra?: Record<string, string>;
}): Record<string, string> {
  const { pki, hostSettings } = run;
  return {
    PATH: process.env.PATH ?? '',
    AzureWebJobsStorage: run.storageConnectionString,
    PKCS_REQUEST_QUEUE: run.queues.request,
    PKCS_RESULT_QUEUE: run.queues.result,
    RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
    RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
    RA_CERT_THUMBPRINT: pki.ra.thumbprint,
    CA_ALLOWED_HOSTS: run.caAuthority,
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
    ...run.extra,
  };
}

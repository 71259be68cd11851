/**
 * Telemetry for Application Insights: one trace per request (requestId, profile OID, outcome, error code,
 * duration), every CA and Key Vault call as a dependency, and the metrics pkcs.issued, pkcs.failures,
 * pkcs.caLatencyMs, pkcs.queueWaitMs and pkcs.raCertificateDaysToExpiry. Only the fields named here are ever
 * sent: no key, password or RA material can reach telemetry, and e-mail addresses/UPNs are replaced by an
 * unsalted SHA-256 prefix unless the operator allows them.
 *
 * Correlation: everything tracked while a request is handled (inside `withRequestCorrelation`, which the
 * pipeline wraps around each message) carries the request's operation id — `operationIdOf(requestId)` — as
 * the ai.operation.id tag, and the requestId as a property. CA and Key Vault calls made deep inside the
 * client libraries find the requestId through AsyncLocalStorage, so their callbacks need not know it.
 *
 * The SDK runs with its own, isolated providers (`useGlobalProviders: false`): no auto-instrumentation, no
 * live metrics, no resource detection calls (the VM detector would call the instance metadata service);
 * only what this module tracks is sent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
// Both come with applicationinsights (its OpenTelemetry core); they carry the operation id to its exporters.
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TelemetryClient, KnownSeverityLevel } from 'applicationinsights';
import type { RaCredential, RaCredentialSource } from '../ra-credential/types';

export type RequestOutcome = 'issued' | 'failed' | 'retrying' | 'replayed';

export interface RequestTelemetry {
  requestId: string | null;
  profileOid?: string;
  caHost?: string;
  outcome: RequestOutcome;
  errorCode?: string;
  durationMs: number;
  dequeueCount?: number;
  /** The subject's e-mail or UPN, if known: hashed unless personal data is allowed. */
  subjectIdentity?: string;
  certificateSerial?: string;
}

/** What reconciliation with the CA did for one request (issue: never issue twice). */
export interface ReconciliationTelemetry {
  requestId: string;
  attempt: number;
  action: 'used-issued-certificate' | 'revoked-stray' | 'revoked-duplicate' | 'nothing-issued';
  serialNumber?: string;
}

/**
 * One call to a dependency: an attempt at a CA (PKI-WS over mutual TLS), a Key Vault read, or a Microsoft
 * Graph user lookup (SID_VERIFY_WITH_GRAPH; never the UPN or the SID, only host, status and duration).
 */
export interface DependencyTelemetry {
  /** The CA host (host or host:port) or the vault's host name. */
  target: string;
  /** getPolicies, requestSecurityToken, getStatus, searchCertificate, updateCertificateStatus, or
   * "KeyVault getCertificate" / "KeyVault getSecret", or "Graph getUser". */
  name: string;
  type: 'PKI-WS' | 'Azure Key Vault' | 'Microsoft Graph';
  durationMs: number;
  success: boolean;
  /** HTTP status, or the broker's error code when there was no answer. */
  resultCode?: string;
  /** Defaults to the request being handled (see withRequestCorrelation). */
  requestId?: string;
}

export type MetricName =
  | 'pkcs.issued'
  | 'pkcs.failures'
  | 'pkcs.caLatencyMs'
  | 'pkcs.queueWaitMs'
  | 'pkcs.raCertificateDaysToExpiry'
  | 'pkcs.queueLength'
  | 'pkcs.revoked'
  | 'pkcs.revocationFailures';

export interface RevocationTelemetry {
  revocationId: string | null;
  outcome: 'revoked' | 'failed';
  reason?: string;
  alreadyRevoked?: boolean;
  serialNumber?: string;
  errorCode?: string;
  durationMs: number;
}

/**
 * The queues whose length is reported (pkcs.queueLength, dimension `queue`): the requests, their poison queue
 * (drained at once by pkcsRequestPoison), the poison queue's own poison queue (messages pkcsRequestPoison
 * could not handle either: nothing reads them) and the results (read by whoever consumes them).
 */
export type QueueRole =
  | 'requests'
  | 'poison'
  | 'poisonUnhandled'
  | 'results'
  | 'revocations'
  | 'revocationPoison'
  | 'revocationPoisonUnhandled'
  | 'revocationResults';

export interface Telemetry {
  /** Also counts pkcs.issued / pkcs.failures (by errorCode) for the outcomes issued and failed. */
  trackRequest(event: RequestTelemetry): void;
  trackReconciliation(event: ReconciliationTelemetry): void;
  /** A revocation's outcome: counts pkcs.revoked, or pkcs.revocationFailures by errorCode. */
  trackRevocation?(event: RevocationTelemetry): void;
  /** Optional so that recorders written for tests need not implement it. */
  trackDependency?(event: DependencyTelemetry): void;
  /** Metric dimensions must stay few-valued (error code, operation, host): never a requestId. */
  trackMetric?(name: MetricName, value: number, properties?: Record<string, string>): void;
  flush(): Promise<void>;
}

const requestCorrelation = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Runs `fn` as the handling of one request: whatever is tracked inside (also from callbacks deep in the CA
 * and Key Vault clients) is correlated with `requestId`. A null requestId (unreadable message) runs `fn`
 * without correlation.
 */
export function withRequestCorrelation<T>(requestId: string | null, fn: () => Promise<T>): Promise<T> {
  return requestId === null ? fn() : requestCorrelation.run({ requestId }, fn);
}

/** The requestId of the request being handled, if any. */
export function currentRequestId(): string | undefined {
  return requestCorrelation.getStore()?.requestId;
}

const GUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * The Application Insights operation id (a W3C trace id: 32 lower-case hex digits) of a request. Intune's
 * requestIds are GUIDs, which map one to one (dashes dropped); any other id maps to the first 32 hex digits
 * of its SHA-256. Every item also carries the requestId itself as a property.
 */
export function operationIdOf(requestId: string): string {
  const hex = requestId.replace(/-/g, '').toLowerCase();
  if (GUID.test(requestId) && /[^0]/.test(hex)) return hex;
  return createHash('sha256').update(requestId).digest('hex').slice(0, 32);
}

/** The parent id all items of a request share (stable, so retries of a request line up too). */
function rootSpanIdOf(requestId: string): string {
  return createHash('sha256').update(`span:${requestId}`).digest('hex').slice(0, 16);
}

/** What the CA transport reports after each attempt (see TransportOptions.onCall). */
export interface CaCallObservation {
  operation: string;
  caHost: string;
  durationMs: number;
  success: boolean;
  /** HTTP status or the error code. */
  code?: string;
}

/** What the Key Vault source reports after each read (see KeyVaultRaCredentialSourceOptions.onCall). */
export interface KeyVaultCallObservation {
  operation: 'getCertificate' | 'getSecret';
  vaultHost: string;
  durationMs: number;
  success: boolean;
  code?: string;
}

/** The callback for the CA transport: a dependency and a pkcs.caLatencyMs value per attempt. */
export function caCallObserver(telemetry: Telemetry): (call: CaCallObservation) => void {
  return (call) => {
    telemetry.trackDependency?.({
      target: call.caHost,
      name: call.operation,
      type: 'PKI-WS',
      durationMs: call.durationMs,
      success: call.success,
      ...(call.code === undefined ? {} : { resultCode: call.code }),
    });
    telemetry.trackMetric?.('pkcs.caLatencyMs', call.durationMs, {
      operation: call.operation,
      caHost: call.caHost,
      success: String(call.success),
    });
  };
}

/** A dependency per call of an Azure service (`<prefix> <operation>` against `host`). */
function serviceCallObserver<
  Call extends { operation: string; durationMs: number; success: boolean; code?: string },
>(
  telemetry: Telemetry,
  type: DependencyTelemetry['type'],
  prefix: string,
  hostOf: (call: Call) => string,
): (call: Call) => void {
  return (call) =>
    telemetry.trackDependency?.({
      target: hostOf(call),
      name: `${prefix} ${call.operation}`,
      type,
      durationMs: call.durationMs,
      success: call.success,
      ...(call.code === undefined ? {} : { resultCode: call.code }),
    });
}

/** The callback for the Key Vault source: a dependency per read. */
export function keyVaultCallObserver(telemetry: Telemetry): (call: KeyVaultCallObservation) => void {
  return serviceCallObserver(telemetry, 'Azure Key Vault', 'KeyVault', (call) => call.vaultHost);
}

/** What the Graph SID check reports after each call (see GraphSidCheckOptions.onCall). */
export interface GraphCallObservation {
  operation: 'getUser';
  graphHost: string;
  durationMs: number;
  success: boolean;
  code?: string;
}

/** The callback for the Graph SID check: a dependency per call, as for Key Vault reads. */
export function graphCallObserver(telemetry: Telemetry): (call: GraphCallObservation) => void {
  return serviceCallObserver(telemetry, 'Microsoft Graph', 'Graph', (call) => call.graphHost);
}

const DAY_MS = 86_400_000;

/**
 * Wraps an RA credential source so that each credential it hands out for the first time (a load, not a
 * cache hit) is reported as pkcs.raCertificateDaysToExpiry, for the expiry alert.
 */
export function observeRaCredential(
  source: RaCredentialSource,
  telemetry: Telemetry,
  now: () => Date = () => new Date(),
): RaCredentialSource {
  let last: RaCredential | undefined;
  return {
    load: async () => {
      const credential = await source.load();
      if (credential !== last) {
        last = credential;
        telemetry.trackMetric?.(
          'pkcs.raCertificateDaysToExpiry',
          Math.floor((credential.notAfter.getTime() - now().getTime()) / DAY_MS),
          { thumbprint: credential.thumbprint },
        );
      }
      return credential;
    },
    invalidate: () => source.invalidate?.(),
  };
}

/** A stable, non-reversible stand-in for an e-mail address or UPN, so one user's requests can be correlated. */
export function pseudonymize(value: string): string {
  return 'sha256:' + createHash('sha256').update(value.trim().toLowerCase()).digest('hex').slice(0, 16);
}

/** The properties sent for one request: exactly these, as strings. Exported so tests can check them. */
export function requestTraceProperties(
  event: RequestTelemetry,
  includePersonalData: boolean,
): Record<string, string> {
  const properties: Record<string, string> = {
    requestId: event.requestId ?? '(unreadable)',
    outcome: event.outcome,
    durationMs: String(Math.round(event.durationMs)),
  };
  if (event.profileOid) properties.profileOid = event.profileOid;
  if (event.caHost) properties.caHost = event.caHost;
  if (event.errorCode) properties.errorCode = event.errorCode;
  if (event.dequeueCount !== undefined) properties.dequeueCount = String(event.dequeueCount);
  if (event.certificateSerial) properties.certificateSerial = event.certificateSerial;
  if (event.subjectIdentity) {
    properties.subjectIdentity = includePersonalData
      ? event.subjectIdentity
      : pseudonymize(event.subjectIdentity);
  }
  return properties;
}

export interface ApplicationInsightsOptions {
  connectionString: string;
  includePersonalData: boolean;
  /**
   * Keep telemetry that could not be sent on local disk and resend it (the SDK's default; on in Azure).
   * Tests turn it off.
   */
  offlineStorage?: boolean;
  /**
   * TEST ONLY: a CA (PEM) to trust for the ingestion endpoint's TLS certificate besides Node's roots (the
   * local ingestion stand-in). Never set from settings.
   */
  trustedCaPemForTests?: string;
}

let contextManagerReady = false;

/** The exporters read the operation id from the active OpenTelemetry context: give the process one. */
function ensureContextManager(): void {
  if (contextManagerReady) return;
  contextManagerReady = true;
  // False when the process already has one (e.g. the global Azure Monitor distro): that one serves as well.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

class ApplicationInsightsTelemetry implements Telemetry {
  private readonly client: TelemetryClient;
  private readonly includePersonalData: boolean;

  constructor(options: ApplicationInsightsOptions) {
    this.includePersonalData = options.includePersonalData;
    ensureContextManager();
    this.client = new TelemetryClient(options.connectionString, { useGlobalProviders: false });
    // Our own items are never sampled (the SDK's default is 100% too; set so that it stays so). Metrics are
    // aggregated, never sampled. host.json's samplingSettings apply to the Functions host's items only.
    this.client.config.samplingPercentage = 100;
    this.client.config.azureMonitorOpenTelemetryOptions = {
      azureMonitorExporterOptions: {
        connectionString: options.connectionString,
        disableOfflineStorage: options.offlineStorage === false,
        ...(options.trustedCaPemForTests === undefined
          ? {}
          : { tlsOptions: { ca: [...rootCertificates, options.trustedCaPemForTests] } }),
      },
      enableLiveMetrics: false,
    };
  }

  trackRequest(event: RequestTelemetry): void {
    const properties = requestTraceProperties(event, this.includePersonalData);
    this.correlated(event.requestId ?? undefined, () =>
      this.client.trackTrace({
        message: `pkcs request ${properties.requestId} ${event.outcome}${event.errorCode ? ` (${event.errorCode})` : ''}`,
        severity: event.outcome === 'failed' ? KnownSeverityLevel.Warning : KnownSeverityLevel.Information,
        properties,
      }),
    );
    const dimensions: Record<string, string> =
      event.profileOid === undefined ? {} : { profileOid: event.profileOid };
    if (event.outcome === 'issued') this.trackMetric('pkcs.issued', 1, dimensions);
    if (event.outcome === 'failed') {
      this.trackMetric('pkcs.failures', 1, { ...dimensions, errorCode: event.errorCode ?? 'UNKNOWN' });
    }
  }

  trackReconciliation(event: ReconciliationTelemetry): void {
    this.correlated(event.requestId, () =>
      this.client.trackEvent({
        name: 'pkcs.reconciliation',
        properties: {
          requestId: event.requestId,
          attempt: String(event.attempt),
          action: event.action,
          ...(event.serialNumber ? { serialNumber: event.serialNumber } : {}),
        },
      }),
    );
  }

  trackRevocation(event: RevocationTelemetry): void {
    // The revocationId is the operation id, as the requestId is for issuance.
    this.correlated(event.revocationId ?? undefined, () =>
      this.client.trackEvent({
        name: 'pkcs.revocation',
        properties: {
          revocationId: event.revocationId ?? '(unreadable)',
          outcome: event.outcome,
          durationMs: String(event.durationMs),
          ...(event.reason === undefined ? {} : { reason: event.reason }),
          ...(event.alreadyRevoked === undefined ? {} : { alreadyRevoked: String(event.alreadyRevoked) }),
          ...(event.serialNumber === undefined ? {} : { serialNumber: event.serialNumber }),
          ...(event.errorCode === undefined ? {} : { errorCode: event.errorCode }),
        },
      }),
    );
    if (event.outcome === 'revoked') {
      this.trackMetric('pkcs.revoked', 1, {
        reason: event.reason ?? 'Unspecified',
        alreadyRevoked: String(event.alreadyRevoked === true),
      });
    } else {
      this.trackMetric('pkcs.revocationFailures', 1, { errorCode: event.errorCode ?? 'UNKNOWN' });
    }
  }

  trackDependency(event: DependencyTelemetry): void {
    const requestId = event.requestId ?? currentRequestId();
    this.correlated(requestId, () =>
      this.client.trackDependency({
        name: event.name,
        target: event.target,
        // "HTTP" with a method and no URL: the exporter then types it Http, takes the target from peer.service
        // and the result code from the status, and keeps our operation name (a URL would replace it).
        dependencyTypeName: 'HTTP',
        duration: event.durationMs,
        success: event.success,
        resultCode: event.resultCode ?? (event.success ? '200' : 'failed'),
        properties: {
          'http.method': event.type === 'PKI-WS' ? 'POST' : 'GET',
          system: event.type,
          ...(requestId === undefined ? {} : { requestId }),
        },
      }),
    );
  }

  trackMetric(name: MetricName, value: number, properties: Record<string, string> = {}): void {
    this.client.trackMetric({ name, value, properties });
  }

  flush(): Promise<void> {
    return this.client.flush();
  }

  /** Runs a track call with the request's operation id in the active context (the exporters read it there). */
  private correlated(requestId: string | undefined, track: () => void): void {
    const requestContext = requestId === undefined ? undefined : operationContext(requestId);
    if (requestContext === undefined) track();
    else context.with(requestContext, track);
  }
}

function operationContext(requestId: string): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: operationIdOf(requestId),
    spanId: rootSpanIdOf(requestId),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** Telemetry is off (nothing is sent anywhere) when no connection string is configured. */
class TelemetryOff implements Telemetry {
  trackRequest(): void {}
  trackReconciliation(): void {}
  trackRevocation(): void {}
  trackDependency(): void {}
  trackMetric(): void {}
  async flush(): Promise<void> {}
}

/** How long an invocation waits for its telemetry to be sent before it lets go (the result never waits longer). */
export const INVOCATION_FLUSH_TIMEOUT_MS = 5000;

/**
 * Sends what is buffered, waiting at most `timeoutMs`; never throws (telemetry must not fail a request). Called
 * at the end of each invocation: an instance that scales in after a burst would otherwise take the metrics
 * of the last minute (the metric export interval) and the unsent traces with it.
 */
export async function flushWithin(
  telemetry: Pick<Telemetry, 'flush'>,
  timeoutMs: number = INVOCATION_FLUSH_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([telemetry.flush().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createTelemetry(
  options: Omit<ApplicationInsightsOptions, 'connectionString'> & { connectionString?: string },
): Telemetry {
  return options.connectionString
    ? new ApplicationInsightsTelemetry({ ...options, connectionString: options.connectionString })
    : new TelemetryOff();
}

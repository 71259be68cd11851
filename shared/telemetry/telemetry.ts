/**
 * What the broker tells Application Insights: one trace per request (requestId, profile OID, outcome, error
 * code, duration), every CA, Key Vault and Graph call as a dependency, and the metrics named in MetricName.
 * These shapes are the whole vocabulary: only their fields are ever sent, so no key, password or RA material
 * can reach telemetry. The infra checks read this file (and applicationInsights.ts) to hold the alerts and
 * the workbook to the names and values the broker really sends.
 *
 * Beside it: applicationInsights.ts sends the items, correlation.ts ties them to their request,
 * observers.ts turns the CA, Key Vault and Graph clients' reports into items, flush.ts ends an invocation.
 */
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

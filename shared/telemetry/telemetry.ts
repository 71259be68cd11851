/**
 * Request telemetry for Application Insights. One trace per request: requestId, profile OID, outcome, error
 * code and duration. Only these fields are ever sent: no key, password or RA material can reach telemetry,
 * and e-mail addresses/UPNs are replaced by an unsalted SHA-256 prefix unless the operator allows them.
 */
import { createHash } from 'node:crypto';
import { TelemetryClient, KnownSeverityLevel } from 'applicationinsights';

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

export interface Telemetry {
  trackRequest(event: RequestTelemetry): void;
  trackReconciliation(event: ReconciliationTelemetry): void;
  flush(): Promise<void>;
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

class ApplicationInsightsTelemetry implements Telemetry {
  private readonly client: TelemetryClient;

  constructor(
    connectionString: string,
    private readonly includePersonalData: boolean,
  ) {
    this.client = new TelemetryClient(connectionString);
  }

  trackRequest(event: RequestTelemetry): void {
    const properties = requestTraceProperties(event, this.includePersonalData);
    this.client.trackTrace({
      message: `pkcs request ${properties.requestId} ${event.outcome}${event.errorCode ? ` (${event.errorCode})` : ''}`,
      severity: event.outcome === 'failed' ? KnownSeverityLevel.Warning : KnownSeverityLevel.Information,
      properties,
    });
  }

  trackReconciliation(event: ReconciliationTelemetry): void {
    this.client.trackEvent({
      name: 'pkcs.reconciliation',
      properties: {
        requestId: event.requestId,
        attempt: String(event.attempt),
        action: event.action,
        ...(event.serialNumber ? { serialNumber: event.serialNumber } : {}),
      },
    });
  }

  flush(): Promise<void> {
    return this.client.flush();
  }
}

/** Telemetry is off (nothing is sent anywhere) when no connection string is configured. */
class TelemetryOff implements Telemetry {
  trackRequest(): void {}
  trackReconciliation(): void {}
  async flush(): Promise<void> {}
}

export function createTelemetry(options: {
  connectionString?: string;
  includePersonalData: boolean;
}): Telemetry {
  return options.connectionString
    ? new ApplicationInsightsTelemetry(options.connectionString, options.includePersonalData)
    : new TelemetryOff();
}

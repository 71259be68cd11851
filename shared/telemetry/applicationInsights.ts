/**
 * Sends the broker's telemetry (see telemetry.ts) to Application Insights, or nowhere when no connection
 * string is configured. E-mail addresses/UPNs are replaced by an unsalted SHA-256 prefix unless the operator
 * allows them.
 *
 * The SDK runs with its own, isolated providers (`useGlobalProviders: false`): no auto-instrumentation, no
 * live metrics, no resource detection calls (the VM detector would call the instance metadata service);
 * only what the broker tracks is sent.
 */
import { rootCertificates } from 'node:tls';
import { context } from '@opentelemetry/api';
import { TelemetryClient, KnownSeverityLevel } from 'applicationinsights';
import { currentRequestId, ensureContextManager, operationContext } from './correlation';
import { pseudonymize } from './pseudonym';
import type {
  DependencyTelemetry,
  MetricName,
  ReconciliationTelemetry,
  RequestTelemetry,
  RevocationTelemetry,
  Telemetry,
} from './telemetry';

export { pseudonymize } from './pseudonym';

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

/** Telemetry is off (nothing is sent anywhere) when no connection string is configured. */
class TelemetryOff implements Telemetry {
  trackRequest(): void {}
  trackReconciliation(): void {}
  trackRevocation(): void {}
  trackDependency(): void {}
  trackMetric(): void {}
  async flush(): Promise<void> {}
}

export function createTelemetry(
  options: Omit<ApplicationInsightsOptions, 'connectionString'> & { connectionString?: string },
): Telemetry {
  return options.connectionString
    ? new ApplicationInsightsTelemetry({ ...options, connectionString: options.connectionString })
    : new TelemetryOff();
}

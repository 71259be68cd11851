/** Telemetry that keeps what it is told, for tests to read: request traces, dependencies and metrics. */
import type {
  DependencyTelemetry,
  MetricName,
  RequestTelemetry,
  Telemetry,
} from '../../shared/telemetry/telemetry';

export class RecordingTelemetry implements Telemetry {
  /** The request traces (trackRequest), in order. */
  readonly events: RequestTelemetry[] = [];
  readonly dependencies: DependencyTelemetry[] = [];
  readonly metrics: { name: MetricName; value: number; properties?: Record<string, string> }[] = [];
  trackRequest(event: RequestTelemetry): void {
    this.events.push(event);
  }
  trackReconciliation(): void {}
  trackDependency(event: DependencyTelemetry): void {
    this.dependencies.push(event);
  }
  trackMetric(name: MetricName, value: number, properties?: Record<string, string>): void {
    this.metrics.push({ name, value, properties });
  }
  async flush(): Promise<void> {}
}

/**
 * Correlation: everything tracked while a request is handled (inside `withRequestCorrelation`, which the
 * pipeline wraps around each message) carries the request's operation id — `operationIdOf(requestId)` — as
 * the ai.operation.id tag, and the requestId as a property. CA and Key Vault calls made deep inside the
 * client libraries find the requestId through AsyncLocalStorage, so their callbacks need not know it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
// Both come with applicationinsights (its OpenTelemetry core); they carry the operation id to its exporters.
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

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

let contextManagerReady = false;

/** The exporters read the operation id from the active OpenTelemetry context: give the process one. */
export function ensureContextManager(): void {
  if (contextManagerReady) return;
  contextManagerReady = true;
  // False when the process already has one (e.g. the global Azure Monitor distro): that one serves as well.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** The OpenTelemetry context whose span carries the request's operation id (the exporters read it there). */
export function operationContext(requestId: string): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: operationIdOf(requestId),
    spanId: rootSpanIdOf(requestId),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

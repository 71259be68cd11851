/**
 * The callbacks the CA transport, the Key Vault source and the Graph SID check report each call to: a
 * dependency per call (and pkcs.caLatencyMs for the CA), and the RA certificate's days to expiry per load.
 */
import type { RaCredential, RaCredentialSource } from '../ra-credential/types';
import type { DependencyTelemetry, Telemetry } from './telemetry';

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
  // Weakly: the credential carries the RA private key, which must live no longer than the cache keeps it.
  const reported = new WeakSet<RaCredential>();
  return {
    load: async () => {
      const credential = await source.load();
      if (!reported.has(credential)) {
        reported.add(credential);
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

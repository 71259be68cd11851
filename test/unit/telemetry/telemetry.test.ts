import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RaCredential } from '../../../shared/ra-credential/types';
import {
  createTelemetry,
  pseudonymize,
  requestTraceProperties,
} from '../../../shared/telemetry/applicationInsights';
import {
  currentRequestId,
  operationIdOf,
  withRequestCorrelation,
} from '../../../shared/telemetry/correlation';
import { flushWithin } from '../../../shared/telemetry/flush';
import {
  caCallObserver,
  observeRaCredential,
  graphCallObserver,
  keyVaultCallObserver,
} from '../../../shared/telemetry/observers';
import { RecordingTelemetry } from '../../support/recordingTelemetry';

describe('request telemetry', () => {
  const event = {
    requestId: 'r-1',
    profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    caHost: 'pki-ws.symauth.com',
    outcome: 'failed' as const,
    errorCode: 'POLICY_MISMATCH',
    durationMs: 12.6,
    dequeueCount: 2,
    subjectIdentity: 'IWUser0@contoso.onmicrosoft.com',
  };

  it('carries requestId, profile, outcome, error code and duration', () => {
    expect(requestTraceProperties(event, false)).toEqual({
      requestId: 'r-1',
      profileOid: event.profileOid,
      caHost: 'pki-ws.symauth.com',
      outcome: 'failed',
      errorCode: 'POLICY_MISMATCH',
      durationMs: '13',
      dequeueCount: '2',
      subjectIdentity: pseudonymize('IWUser0@contoso.onmicrosoft.com'),
    });
  });

  it('hashes the e-mail/UPN unless personal data is explicitly allowed', () => {
    const hashed = requestTraceProperties(event, false).subjectIdentity!;
    expect(hashed).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(hashed).not.toContain('contoso');
    // Case and spacing do not split one user into two.
    expect(pseudonymize(' iwuser0@CONTOSO.onmicrosoft.com')).toBe(hashed);
    expect(requestTraceProperties(event, true).subjectIdentity).toBe('IWUser0@contoso.onmicrosoft.com');
  });

  it('names an unreadable request instead of dropping it', () => {
    expect(requestTraceProperties({ ...event, requestId: null }, false).requestId).toBe('(unreadable)');
  });
});

describe('correlation', () => {
  it('maps a GUID requestId to its 32 hex digits and any other id to a stable SHA-256 prefix', () => {
    expect(operationIdOf('6F1C2C3E-1D7A-4A55-9D7F-2F0E9B9E7A10')).toBe('6f1c2c3e1d7a4a559d7f2f0e9b9e7a10');
    expect(operationIdOf('req-1')).toMatch(/^[0-9a-f]{32}$/);
    expect(operationIdOf('req-1')).toBe(operationIdOf('req-1'));
    expect(operationIdOf('req-1')).not.toBe(operationIdOf('req-2'));
    // The all-zero trace id is invalid in W3C trace context: hashed instead.
    expect(operationIdOf('00000000-0000-0000-0000-000000000000')).not.toBe('0'.repeat(32));
  });

  it('knows the request being handled across awaits, and nothing outside it', async () => {
    expect(currentRequestId()).toBeUndefined();
    const seen = await withRequestCorrelation('r-7', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return currentRequestId();
    });
    expect(seen).toBe('r-7');
    expect(await withRequestCorrelation(null, async () => currentRequestId())).toBeUndefined();
  });
});

describe('observers', () => {
  it('turns a CA attempt into a dependency and a latency value by operation and host', () => {
    const telemetry = new RecordingTelemetry();
    caCallObserver(telemetry)({
      operation: 'getPolicies',
      caHost: 'pki-ws.symauth.com',
      durationMs: 42,
      success: false,
      code: 'CA_UNAVAILABLE',
    });
    expect(telemetry.dependencies).toEqual([
      {
        target: 'pki-ws.symauth.com',
        name: 'getPolicies',
        type: 'PKI-WS',
        durationMs: 42,
        success: false,
        resultCode: 'CA_UNAVAILABLE',
      },
    ]);
    expect(telemetry.metrics).toEqual([
      {
        name: 'pkcs.caLatencyMs',
        value: 42,
        properties: { operation: 'getPolicies', caHost: 'pki-ws.symauth.com', success: 'false' },
      },
    ]);
  });

  it('turns Key Vault reads and Graph SID lookups into dependencies of their own system, without metrics', () => {
    const telemetry = new RecordingTelemetry();
    keyVaultCallObserver(telemetry)({
      operation: 'getSecret',
      vaultHost: 'contoso.vault.azure.net',
      durationMs: 12,
      success: true,
      code: '200',
    });
    graphCallObserver(telemetry)({
      operation: 'getUser',
      graphHost: 'graph.microsoft.com',
      durationMs: 30,
      success: false,
      code: '403',
    });
    expect(telemetry.dependencies).toEqual([
      {
        target: 'contoso.vault.azure.net',
        name: 'KeyVault getSecret',
        type: 'Azure Key Vault',
        durationMs: 12,
        success: true,
        resultCode: '200',
      },
      {
        target: 'graph.microsoft.com',
        name: 'Graph getUser',
        type: 'Microsoft Graph',
        durationMs: 30,
        success: false,
        resultCode: '403',
      },
    ]);
    expect(telemetry.metrics).toEqual([]);
  });

  it('reports the RA certificate days to expiry once per loaded credential, not per cache hit', async () => {
    const telemetry = new RecordingTelemetry();
    const now = new Date('2026-01-01T00:00:00Z');
    const credential = (days: number, thumbprint: string): RaCredential => ({
      certificatePem: '',
      privateKeyPem: '',
      chainPem: [],
      thumbprint,
      notAfter: new Date(now.getTime() + days * 86_400_000 + 3_600_000),
      subject: 'CN=RA',
      source: 'test',
    });
    let current = credential(30, 'AA');
    let invalidated = 0;
    const source = observeRaCredential(
      { load: async () => current, invalidate: () => (invalidated += 1) },
      telemetry,
      () => now,
    );
    await source.load();
    await source.load();
    current = credential(365, 'BB');
    await source.load();
    source.invalidate?.();
    expect(invalidated).toBe(1);
    expect(telemetry.metrics).toEqual([
      { name: 'pkcs.raCertificateDaysToExpiry', value: 30, properties: { thumbprint: 'AA' } },
      { name: 'pkcs.raCertificateDaysToExpiry', value: 365, properties: { thumbprint: 'BB' } },
    ]);
  });

  it('sends nothing anywhere without a connection string', async () => {
    const off = createTelemetry({ includePersonalData: false });
    off.trackDependency?.({ target: 'x', name: 'getPolicies', type: 'PKI-WS', durationMs: 1, success: true });
    off.trackMetric?.('pkcs.issued', 1);
    await expect(off.flush()).resolves.toBeUndefined();
  });
});

describe('host.json sampling', () => {
  it("samples the host's own items but never requests or exceptions", () => {
    const host = JSON.parse(readFileSync(path.join(__dirname, '../../../host.json'), 'utf8')) as {
      logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes: string } } };
    };
    const sampling = host.logging.applicationInsights.samplingSettings;
    expect(sampling.isEnabled).toBe(true);
    expect(sampling.excludedTypes.split(';')).toEqual(expect.arrayContaining(['Request', 'Exception']));
  });
});

describe('flushWithin: the end of each invocation', () => {
  afterEach(() => jest.useRealTimers());

  it('waits for the flush to finish', async () => {
    let flushed = false;
    await flushWithin({
      flush: () => new Promise<void>((resolve) => setImmediate(() => ((flushed = true), resolve()))),
    });
    expect(flushed).toBe(true);
  });

  it('never fails the invocation when sending fails', async () => {
    await expect(
      flushWithin({ flush: () => Promise.reject(new Error('ingestion down')) }),
    ).resolves.toBeUndefined();
  });

  it('lets go after the timeout when the ingestion endpoint hangs', async () => {
    jest.useFakeTimers();
    let settled = false;
    const waiting = flushWithin({ flush: () => new Promise<void>(() => undefined) }, 5000).then(() => {
      settled = true;
    });
    await jest.advanceTimersByTimeAsync(4999);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await waiting;
    expect(settled).toBe(true);
  });
});

import { planChecks, redactSecrets, runDoctor } from '../../../shared/doctor/doctor';
import { exitCodeOf, formatDoctorReport } from '../../../shared/doctor/report';
import type { DoctorReport } from '../../../shared/doctor/types';

const ROW = 'DigiCert-provider: Kan clientcertificaat niet ophalen (cannot get the client certificate)';

function report(overrides: Partial<DoctorReport> = {}): DoctorReport {
  return {
    ok: false,
    mode: 'full',
    startedAt: '2026-01-02T03:04:05.000Z',
    durationMs: 42,
    summary: { pass: 1, warn: 1, fail: 2, skip: 1 },
    checks: [
      { id: 'settings', title: 'Settings', status: 'pass', detail: 'fine', notes: ['a note'], durationMs: 1 },
      {
        id: 'ra-certificate',
        title: 'RA certificate',
        status: 'fail',
        detail: 'missing',
        troubleshootingRow: ROW,
        troubleshootingRowId: 'client-certificate',
        remedy: 'import it',
        errorCode: 'RA_CERT_UNAVAILABLE',
        durationMs: 1,
      },
      {
        id: 'ca-health:h',
        title: 'CA health operation at h',
        status: 'skip',
        detail: 'skipped',
        durationMs: 0,
      },
      {
        id: 'queues',
        title: 'Queues',
        status: 'fail',
        detail: 'queue gone',
        remedy: 'check storage',
        durationMs: 1,
      },
      { id: 'policy', title: 'Policy', status: 'warn', detail: 'careful', notes: ['$x'], durationMs: 1 },
    ],
    ...overrides,
  };
}

describe('formatDoctorReport', () => {
  it('one line per check; failures and warnings with seed row, remedy and code; the verdict last', () => {
    expect(formatDoctorReport(report())).toBe(
      [
        'Doctor of the DigiCert PKCS broker: all checks, 2026-01-02T03:04:05.000Z',
        '',
        'PASS  Settings: fine',
        '      · a note',
        'FAIL  RA certificate: missing',
        `      seed row: ${ROW}`,
        '      remedy:   import it',
        '      code:     RA_CERT_UNAVAILABLE',
        'SKIP  CA health operation at h: skipped',
        'FAIL  Queues: queue gone',
        "      seed row: none (the connector's troubleshooting table has no row for this; the broker's own remedy below)",
        '      remedy:   check storage',
        'WARN  Policy: careful',
        '      · $x',
        '',
        '5 checks: 1 passed, 1 warning(s), 2 failed, 1 skipped (42 ms) — FAILED',
        '',
      ].join('\n'),
    );
    expect(formatDoctorReport(report(), { verbose: false })).not.toContain('a note');
  });

  it('exit code 0 when nothing failed, warnings allowed; 1 otherwise', () => {
    expect(exitCodeOf(report())).toBe(1);
    expect(exitCodeOf(report({ ok: true }))).toBe(0);
  });
});

describe('planChecks', () => {
  const env = { CA_ALLOWED_HOSTS: 'ca1.example.com,ca2.example.com:8443', PROFILE_OIDS: '1.2.3,1.2.4' };

  it('runs all checks in order: settings, Key Vault, RA, per host DNS → TLS → mutual TLS → health, policies, storage', () => {
    expect(planChecks(env, 'full').map((check) => check.id)).toEqual([
      'settings',
      'key-vault',
      'ra-certificate',
      'ca-dns:ca1.example.com',
      'ca-tls:ca1.example.com',
      'ca-mtls:ca1.example.com',
      'ca-health:ca1.example.com',
      'ca-dns:ca2.example.com:8443',
      'ca-tls:ca2.example.com:8443',
      'ca-mtls:ca2.example.com:8443',
      'ca-health:ca2.example.com:8443',
      'policy:1.2.3@ca1.example.com',
      'policy:1.2.3@ca2.example.com:8443',
      'policy:1.2.4@ca1.example.com',
      'policy:1.2.4@ca2.example.com:8443',
      'queues',
      'ledger',
    ]);
  });

  it("the health probe's quick subset: settings, Key Vault, RA certificate, CA health per host", () => {
    expect(planChecks(env, 'quick').map((check) => check.id)).toEqual([
      'settings',
      'key-vault',
      'ra-certificate',
      'ca-health:ca1.example.com',
      'ca-health:ca2.example.com:8443',
    ]);
  });

  it('plans the request-signing key check after the RA certificate only where signing is configured', () => {
    const signing = { ...env, REQUEST_SIGNING_SECRET_NAME: 'request-signing' };
    expect(planChecks(signing, 'quick').map((check) => check.id)).toEqual([
      'settings',
      'key-vault',
      'ra-certificate',
      'request-signing-key',
      'ca-health:ca1.example.com',
      'ca-health:ca2.example.com:8443',
    ]);
    expect(
      planChecks({ ...env, REQUEST_SIGNING_SECRET_NAME: ' ' }, 'quick').map((check) => check.id),
    ).not.toContain('request-signing-key');
  });

  it('says why no policy is checked without PROFILE_OIDS, and plans from unreadable settings too', () => {
    expect(planChecks({}, 'full').map((check) => check.id)).toContain('policies');
    expect(
      planChecks({ CA_MAX_ATTEMPTS: 'many', CA_ALLOWED_HOSTS: 'ca.example.com' }, 'quick').map(
        (check) => check.id,
      ),
    ).toEqual(['settings', 'key-vault', 'ra-certificate', 'ca-health:ca.example.com']);
  });
});

describe('runDoctor without a usable configuration', () => {
  it('fails at the settings and skips every check after it, naming the settings check', async () => {
    const result = await runDoctor({ env: { CA_MAX_ATTEMPTS: 'many' }, mode: 'full' });
    expect(result.ok).toBe(false);
    expect(result.checks[0]).toMatchObject({
      id: 'settings',
      status: 'fail',
      detail: 'CA_MAX_ATTEMPTS: "many" is not a whole number',
    });
    expect(result.checks.slice(1).map((check) => check.status)).toEqual(
      result.checks.slice(1).map(() => 'skip'),
    );
    expect(result.checks[2]?.detail).toBe('skipped: needs "Settings", which did not pass');
    expect(result.summary).toMatchObject({ fail: 1, pass: 0 });
  });

  it('names what is missing: the RA certificate ("Kan clientcertificaat niet ophalen") and the storage', async () => {
    const result = await runDoctor({ env: {}, mode: 'quick' });
    expect(result.checks[0]).toMatchObject({ status: 'fail', troubleshootingRow: ROW });
    expect(result.checks[0]?.detail).toBe(
      'the RA certificate is not configured (KEY_VAULT_URL and RA_CERTIFICATE_NAME not set, no RA_CERTIFICATE_PFX_FILE); AzureWebJobsStorage is not set: the queues and the request ledger live in that storage account',
    );
  });
});

describe('redactSecrets', () => {
  it('replaces every secret setting value (PFX password, account key, SAS) wherever it appears', () => {
    const env = {
      RA_CERTIFICATE_PFX_PASSWORD: 'pfx-secret-123',
      AzureWebJobsStorage:
        'DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net',
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        'InstrumentationKey=00000000-1111-2222-3333-444444444444;IngestionEndpoint=https://x',
    };
    const leaky = report({
      checks: [
        {
          id: 'x',
          title: 'X',
          status: 'fail',
          detail: 'password pfx-secret-123 and key c2VjcmV0LWtleQ== and 00000000-1111-2222-3333-444444444444',
          notes: ['again pfx-secret-123'],
          data: { nested: ['c2VjcmV0LWtleQ=='] },
          durationMs: 0,
        },
      ],
    });
    const redacted = JSON.stringify(redactSecrets(leaky, env));
    expect(redacted).not.toMatch(/pfx-secret-123|c2VjcmV0LWtleQ==|00000000-1111/);
    expect(redacted).toContain('password [redacted] and key [redacted] and [redacted]');
    expect(redactSecrets(leaky, {})).toEqual(leaky);
  });
});

/**
 * The health function's handler, as the Functions host calls it, against the local stack: the quick checks
 * by default, all of them with ?full=1; 200 with the JSON report when nothing failed, 503 otherwise; no
 * secret in what it answers.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { AZURITE_KEY } from '../../../dev/host/azurite';
import { createHealthHandler } from '../../../functions/handlers/health';
import type { DoctorReport } from '../../../shared/doctor';
import { startDoctorStack, type DoctorStack } from './doctorStack';

let stack: DoctorStack;

beforeAll(async () => {
  stack = await startDoctorStack({ azurite: true });
}, 120000);

afterAll(async () => {
  await stack?.close();
});

function probe(query = ''): HttpRequest {
  return new HttpRequest({ method: 'GET', url: `https://broker.example.net/api/health${query}` });
}

let logged: string[] = [];

function context(): InvocationContext {
  return new InvocationContext({
    functionName: 'health',
    invocationId: 'test',
    logHandler: (level, ...args) => logged.push(`${level}: ${args.map(String).join(' ')}`),
  });
}

beforeEach(() => {
  logged = [];
});

function reportOf(response: { jsonBody?: unknown }): DoctorReport {
  return response.jsonBody as DoctorReport;
}

describe('GET /api/health', () => {
  it('answers 200 with the quick checks: settings, Key Vault, RA certificate, CA health per host', async () => {
    const handler = createHealthHandler({ env: stack.env(), trustedCaPemForTests: stack.trust });
    const response = await handler(probe(), context());
    expect(response.status).toBe(200);
    expect(logged).toEqual([]);
    expect(response.headers).toEqual({ 'cache-control': 'no-store' });
    const report = reportOf(response);
    expect(report).toMatchObject({ ok: true, mode: 'quick' });
    expect(report.checks.map((check) => [check.id, check.status])).toEqual([
      ['settings', 'pass'],
      ['key-vault', 'skip'],
      ['ra-certificate', 'pass'],
      [`ca-health:${stack.simulator.authority}`, 'pass'],
    ]);
    const text = JSON.stringify(report);
    expect(text).not.toContain(stack.pki.ra.pfxPassword);
    expect(text).not.toContain(AZURITE_KEY);
    expect(text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  it('runs every check with ?full=1', async () => {
    const handler = createHealthHandler({ env: stack.env(), trustedCaPemForTests: stack.trust });
    const response = await handler(probe('?full=1'), context());
    expect(response.status).toBe(200);
    const report = reportOf(response);
    expect(report.mode).toBe('full');
    expect(report.checks.map((check) => check.id)).toEqual(
      expect.arrayContaining(['queues', 'ledger', `ca-mtls:${stack.simulator.authority}`]),
    );
  });

  it('answers 503 naming the failed check and its seed row when something fails', async () => {
    const handler = createHealthHandler({
      env: stack.env({ RA_CERT_THUMBPRINT: 'AB'.repeat(20) }),
      trustedCaPemForTests: stack.trust,
    });
    const response = await handler(probe(), context());
    expect(response.status).toBe(503);
    const failed = reportOf(response).checks.filter((check) => check.status === 'fail');
    expect(failed.map((check) => check.id)).toEqual(['ra-certificate']);
    expect(failed[0]?.troubleshootingRow).toBe(
      'DigiCert-provider: Kan clientcertificaat niet ophalen (cannot get the client certificate)',
    );
    expect(logged).toEqual(['warning: health (quick): failed ra-certificate']);
  });

  it('answers a probe storm with one run, and runs again once the report is older than reuseMs', async () => {
    const handler = createHealthHandler({
      env: stack.env(),
      trustedCaPemForTests: stack.trust,
      reuseMs: 60_000,
    });
    const before = stack.simulator.stats().requests.healthcheckService;
    const responses = await Promise.all([
      handler(probe(), context()),
      handler(probe(), context()),
      handler(probe(), context()),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(stack.simulator.stats().requests.healthcheckService - before).toBe(1);
    await handler(probe(), context());
    expect(stack.simulator.stats().requests.healthcheckService - before).toBe(1);

    const always = createHealthHandler({ env: stack.env(), trustedCaPemForTests: stack.trust, reuseMs: 0 });
    await always(probe(), context());
    await always(probe(), context());
    expect(stack.simulator.stats().requests.healthcheckService - before).toBe(3);
  });
});

/**
 * The doctor checks CA_TLS_PINS the way the broker connects: a pin of the dev TLS root (the CA that issued
 * the simulator's certificate) passes the TLS check, a wrong pin fails it with CA_TLS_FAILED naming the
 * setting and the chain's own pins, and the checks that need the connection are skipped.
 */
import { runDoctor, type CheckReport, type DoctorReport } from '../../../shared/doctor';
import { spkiPin } from '../../../shared/digicert/tlsPins';
import { startDoctorStack, type DoctorStack } from './doctorStack';

let stack: DoctorStack;

beforeAll(async () => {
  stack = await startDoctorStack({ azurite: true });
}, 120000);

afterAll(async () => {
  await stack?.close();
});

function pinOf(pem: string): string {
  return spkiPin(Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'));
}

function check(report: DoctorReport, id: string): CheckReport {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

it('passes the TLS, mutual-TLS and health checks with the pin of the issuing CA', async () => {
  const host = stack.simulator.authority;
  const report = await runDoctor({
    env: stack.env({ CA_TLS_PINS: pinOf(stack.pki.tlsRootCa.certPem) }),
    trustedCaPemForTests: stack.trust,
  });
  for (const id of [`ca-tls:${host}`, `ca-mtls:${host}`, `ca-health:${host}`]) {
    expect([id, check(report, id).status]).toEqual([id, 'pass']);
  }
});

it('fails the TLS check with CA_TLS_FAILED naming CA_TLS_PINS when no key of the chain is pinned', async () => {
  const host = stack.simulator.authority;
  const report = await runDoctor({
    env: stack.env({ CA_TLS_PINS: pinOf(stack.pki.caRoot.certPem) }),
    trustedCaPemForTests: stack.trust,
  });
  const tls = check(report, `ca-tls:${host}`);
  expect(tls).toMatchObject({ status: 'fail', errorCode: 'CA_TLS_FAILED' });
  expect(tls.detail).toContain('CA_TLS_PINS');
  expect(tls.detail).toContain(pinOf(stack.pki.simulatorTls.certPem));
  expect(tls.remedy).toContain('CA_TLS_PINS');
  expect(check(report, `ca-health:${host}`).status).toBe('skip');
});

/**
 * `npm run doctor` as an operator runs it: its own process, settings from the environment only, trust in the
 * local stack from NODE_EXTRA_CA_CERTS, and the RA certificate from Key Vault through DefaultAzureCredential
 * (IDENTITY_ENDPOINT/IDENTITY_HEADER point it at the stand-in's managed-identity endpoint, as in Azure).
 * The command is transpiled from the sources into a temporary folder, so no stale dist/ is tested.
 */
import path from 'node:path';
import type { RunningAzurite } from '../../../dev/host/azurite';
import type { DoctorReport } from '../../../shared/doctor';
import { runNode, transpileTree } from '../../support/childProcess';
import { identityStorageSettings, startAzuriteWithOAuth } from '../../support/identityStack';
import { RA_CERTIFICATE_NAME, startDoctorStack, USER_PROFILE, type DoctorStack } from './doctorStack';

let stack: DoctorStack;
let buildDir: string;
/** A second Azurite as Azure storage with shared keys off looks to a client: HTTPS, bearer tokens only. */
let identityAzurite: RunningAzurite;

async function runDoctorProcess(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  const run = await runNode([path.join(buildDir, 'cli', 'doctor.js'), ...argv], {
    cwd: stack.dir,
    timeoutMs: 60_000,
    env,
    repositoryModules: true,
  });
  if (run.code !== 0 && run.code !== 1)
    throw new Error(`doctor exited with ${String(run.error?.code)}:\n${run.stderr}${run.stdout}`);
  return { code: run.code, out: run.stdout };
}

function settings(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...stack.vault!.identityEnvironment,
    AzureWebJobsStorage: stack.azurite!.connectionString,
    KEY_VAULT_URL: stack.vault!.url,
    RA_CERTIFICATE_NAME,
    RA_CERT_THUMBPRINT: stack.pki.ra.thumbprint,
    CA_ALLOWED_HOSTS: stack.simulator.authority,
    PROFILE_OIDS: USER_PROFILE,
    NODE_EXTRA_CA_CERTS: stack.pki.tlsRootCa.certPath,
    ...overrides,
  };
}

beforeAll(async () => {
  stack = await startDoctorStack({ azurite: true, keyVault: true });
  buildDir = path.join(stack.dir, 'build');
  await transpileTree('cli/doctor.ts', buildDir);
  identityAzurite = await startAzuriteWithOAuth(stack.pki);
}, 120000);

afterAll(async () => {
  await identityAzurite?.stop();
  await stack?.close();
});

function identityStorage(overrides: Record<string, string> = {}): Record<string, string> {
  const rest = settings();
  delete rest.AzureWebJobsStorage;
  return {
    ...rest,
    ...identityStorageSettings(identityAzurite),
    ...overrides,
  };
}

describe('the doctor command in its own process', () => {
  it('passes against the local stack with Key Vault via the managed identity and NODE_EXTRA_CA_CERTS', async () => {
    const tokenRequestsBefore = stack.vault!.tokenRequests.length;
    const { code, out } = await runDoctorProcess(['--json'], settings());
    const report = JSON.parse(out) as DoctorReport;
    expect(
      report.checks.filter((check) => check.status !== 'pass').map((check) => `${check.id}: ${check.detail}`),
    ).toEqual([]);
    expect(code).toBe(0);
    expect(report.checks.find((check) => check.id === 'key-vault')?.detail).toContain(
      `from ${stack.vault!.url}`,
    );
    // The token came from the managed-identity endpoint, as in Azure.
    expect(stack.vault!.tokenRequests.length).toBeGreaterThan(tokenRequestsBefore);
  });

  it('exits 1 with the readable report naming the row when the pin is wrong', async () => {
    const { code, out } = await runDoctorProcess([], settings({ RA_CERT_THUMBPRINT: '11'.repeat(20) }));
    expect(code).toBe(1);
    expect(out).toMatch(
      /FAIL {2}RA certificate: RA certificate from Key Vault certificate "digicert-ra" .*thumbprint pin mismatch/,
    );
    expect(out).toContain(
      '      seed row: DigiCert-provider: Kan clientcertificaat niet ophalen (cannot get the client certificate)',
    );
    expect(out).toMatch(/ — FAILED\n$/);
  });

  it('passes with identity-based storage (no key anywhere), as the infra template configures the app', async () => {
    const { code, out } = await runDoctorProcess(['--json'], identityStorage());
    const report = JSON.parse(out) as DoctorReport;
    const storageChecks = report.checks.filter((check) => check.id === 'queues' || check.id === 'ledger');
    expect(storageChecks.map((check) => [check.id, check.status])).toEqual([
      ['queues', 'pass'],
      ['ledger', 'pass'],
    ]);
    expect(storageChecks[0]?.detail).toContain(`${identityAzurite.queueServiceUrl} (queues)`);
    expect(storageChecks[0]?.detail).toContain('as DefaultAzureCredential');
    expect(code).toBe(0);
  });

  it('says to turn on the managed identity when storage gets no token from it', async () => {
    const { code, out } = await runDoctorProcess(
      ['--json'],
      identityStorage({
        AzureWebJobsStorage__credential: 'managedidentity',
        // A user-assigned identity that is not assigned to this "app": the endpoint refuses it.
        AzureWebJobsStorage__clientId: '0f0e0d0c-0b0a-4908-8706-050403020100',
      }),
    );
    const report = JSON.parse(out) as DoctorReport;
    const queues = report.checks.find((check) => check.id === 'queues');
    expect(queues?.status).toBe('fail');
    expect(queues?.remedy).toMatch(
      /^No token from the managed identity\. In Azure, turn on the Function App's identity/,
    );
    expect(code).toBe(1);
  });
});

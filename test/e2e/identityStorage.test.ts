/**
 * The deployed configuration, locally: no key or connection string anywhere. The host (`npm run host`'s
 * compiled code, its own process) gets the queues and the ledger through AzureWebJobsStorage__queueServiceUri /
 * __tableServiceUri with `__credential: managedidentity`, and the RA certificate from Key Vault, both with
 * tokens from the managed-identity endpoint (IDENTITY_ENDPOINT, as Azure Functions sets it). Storage is
 * Azurite over HTTPS with `--oauth basic`. The request goes in through `npm run submit` as an administrator
 * runs it against Azure (DefaultAzureCredential), with --recipient-key opening the PFX.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunningAzurite } from '../../dev/host/azurite';
import { STORAGE_RESOURCE, type KeyVaultStandIn } from '../../dev/keyvault-standin/server';
import type { DevPki } from '../../dev/pki/devPki';
import type { Simulator } from '../../dev/simulator/server';
import { startIngestionStandIn, type Envelope, type IngestionStandIn } from '../support/ingestion';
import { validateResult } from '../../shared/contract/validate';
import { runNode } from '../support/childProcess';
import { startDevSimulator, type DevSimulator } from '../support/devSimulator';
import { COMPILED_HOST_DIR, startHostProcess, type HostProcess } from '../support/hostProcess';
import {
  identityStorageSettings,
  putDevRaCertificate,
  startAzuriteWithOAuth,
  startKeyVaultStandInWithDevTls,
} from '../support/identityStack';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const RA_CERTIFICATE_NAME = 'digicert-ra';
const queues = { PKCS_REQUEST_QUEUE: 'identity-requests', PKCS_RESULT_QUEUE: 'identity-results' };

let devSimulator: DevSimulator;
let dir: string;
let pki: DevPki;
let azurite: RunningAzurite;
let vault: KeyVaultStandIn;
let simulator: Simulator;
let host: HostProcess;
let ingestion: IngestionStandIn;
/** The dev TLS root and the ingestion stand-in's CA, for the host's NODE_EXTRA_CA_CERTS. */
let hostTrustPath: string;

/** Runs `npm run submit`'s compiled code; asynchronous, since the stack serves from this process. */
async function runSubmit(args: string[]): Promise<{ code: number; out: string }> {
  const run = await runNode([path.join(COMPILED_HOST_DIR, 'submit.js'), ...args], {
    cwd: dir,
    timeoutMs: 90_000,
    // No az login here: DefaultAzureCredential finds the managed-identity endpoint.
    env: {
      ...vault.identityEnvironment,
      ...identityStorageSettings(azurite),
      ...queues,
      NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
    },
  });
  return { code: run.code, out: run.stdout + run.stderr };
}

beforeAll(async () => {
  devSimulator = await startDevSimulator('e2e-identity-');
  ({ dir, pki, simulator } = devSimulator);
  azurite = await startAzuriteWithOAuth(pki);
  vault = await startKeyVaultStandInWithDevTls(pki);
  putDevRaCertificate(vault, pki, RA_CERTIFICATE_NAME);
  ingestion = await startIngestionStandIn();
  hostTrustPath = path.join(dir, 'host-trust.pem');
  writeFileSync(hostTrustPath, pki.tlsRootCa.certPem + ingestion.caPem);
  host = startHostProcess(
    {
      PATH: process.env.PATH,
      HOME: dir,
      ...vault.identityEnvironment,
      ...identityStorageSettings(azurite),
      AzureWebJobsStorage__credential: 'managedidentity',
      ...queues,
      KEY_VAULT_URL: vault.url,
      RA_CERTIFICATE_NAME,
      RA_CERT_THUMBPRINT: pki.ra.thumbprint,
      CA_ALLOWED_HOSTS: simulator.authority,
      // One attempt, one delivery: a CA outage goes straight to waiting (deferral) after a second.
      CA_MAX_ATTEMPTS: '1',
      QUEUE_MAX_DEQUEUE_COUNT: '1',
      REQUEST_DEFER_MIN_SECONDS: '1',
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
      NODE_EXTRA_CA_CERTS: hostTrustPath,
    },
    { cwd: dir },
  );
}, 120000);

afterAll(async () => {
  await host?.stop();
  await ingestion?.close();
  await vault?.close();
  await azurite?.stop();
  await devSimulator?.close();
});

describe('identity-based storage, as deployed (shared keys off)', () => {
  it('issues a certificate submitted with `npm run submit`, and the PFX opens with --recipient-key', async () => {
    writeFileSync(path.join(dir, 'recipient.pem'), pki.recipient.certPem);
    writeFileSync(
      path.join(dir, 'first-request.json'),
      JSON.stringify({
        schemaVersion: 1,
        requestId: '@new',
        certificateAuthority: simulator.authority,
        certificateAuthorityName: 'Symantec',
        certificateTemplateName: USER_PROFILE,
        subjectName: 'CN=First User,E=first.user@contoso.com',
        subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: 'first.user@contoso.com' }],
        recipientCertificate: '@file:recipient.pem',
      }),
    );
    const storageTokensBefore = vault.tokenRequests.filter(
      (request) => request.resource === STORAGE_RESOURCE,
    ).length;

    const { code, out } = await runSubmit([
      'first-request.json',
      '--recipient-key',
      pki.recipient.keyPath,
      '--save-result',
      'result.json',
      '--timeout',
      '60',
    ]);

    expect({ code, out: code === 0 ? 'ok' : `${out}\n--- host ---\n${host.log}` }).toEqual({
      code: 0,
      out: 'ok',
    });
    expect(out).toMatch(/: ISSUED at /);
    expect(out).toContain('subject:  CN=First User');
    expect(out).toContain('opened:   password decrypted with the recipient key');
    const saved = path.join(dir, 'result.json');
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    expect(validateResult(JSON.parse(readFileSync(saved, 'utf8')))).toEqual({ valid: true });
    // Host and submit both asked the managed-identity endpoint for storage tokens; none had a key.
    expect(
      vault.tokenRequests.filter((request) => request.resource === STORAGE_RESOURCE).length,
    ).toBeGreaterThan(storageTokensBefore);
    expect(host.log).toContain('host: listening on queue "identity-requests"');

    // Telemetry is flushed before the invocation ends (the postInvocation hook, which the local host runs as
    // Azure does), so it has arrived when the result has (the metric export interval is a minute): the
    // request's trace, the pkcs.issued metric, the CA and Key Vault calls.
    const requestId = /request (\S+): ISSUED/.exec(out)?.[1];
    expect(requestId).toBeDefined();
    const ofType = (baseType: string): Envelope[] =>
      ingestion.envelopes.filter((envelope) => envelope.data?.baseType === baseType);
    const traces = ofType('MessageData').filter(
      (envelope) =>
        (envelope.data?.baseData?.properties as Record<string, string> | undefined)?.requestId === requestId,
    );
    expect(traces.map((envelope) => envelope.data?.baseData?.message)).toEqual([
      `pkcs request ${requestId} issued`,
    ]);
    const metricNames = ofType('MetricData').flatMap((envelope) =>
      ((envelope.data?.baseData?.metrics as { name: string }[] | undefined) ?? []).map(
        (metric) => metric.name,
      ),
    );
    expect(metricNames).toEqual(
      expect.arrayContaining(['pkcs.issued', 'pkcs.caLatencyMs', 'pkcs.queueWaitMs']),
    );
    const dependencies = ofType('RemoteDependencyData').map((envelope) => envelope.data?.baseData?.name);
    expect(dependencies).toEqual(
      expect.arrayContaining([
        'KeyVault getCertificate',
        'KeyVault getSecret',
        'getPolicies',
        'requestSecurityToken',
      ]),
    );
    // The RA key and the PFX password never travel with telemetry.
    const sent = ingestion.bodies.join('\n');
    expect(sent).not.toContain(pki.ra.pfxPassword);
    expect(sent).not.toMatch(/PRIVATE KEY/);
  });

  it('refuses to send when --recipient-key is not the recipient certificate’s key', async () => {
    writeFileSync(path.join(dir, 'recipient.pem'), pki.recipient.certPem);
    const { code, out } = await runSubmit(['first-request.json', '--recipient-key', pki.ra.keyPath]);
    expect(code).toBe(64);
    expect(out).toContain("is not the private key of the request's recipientCertificate: nothing was sent");
  });

  it('waits out a CA outage that outlasts the deliveries: the request goes back on the queue, then issues', async () => {
    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'enrollmentService' });
    writeFileSync(path.join(dir, 'recipient.pem'), pki.recipient.certPem);
    const { code, out } = await runSubmit(['first-request.json', '--timeout', '60']);
    expect({ code, out: code === 0 ? 'ok' : `${out}\n--- host ---\n${host.log}` }).toEqual({
      code: 0,
      out: 'ok',
    });
    expect(out).toMatch(/: ISSUED at /);
    expect(host.log).toMatch(/CA_UNAVAILABLE on the last delivery, back on the queue in 1 s/);
  });
});

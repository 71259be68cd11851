/**
 * End to end, as an operator runs it: Azurite, the PKI-WS simulator, and the broker's host as its own
 * process (`npm run host`'s compiled code, trusting the dev TLS root through NODE_EXTRA_CA_CERTS).
 * Requests go on the queue; results come off it; the PFX is opened with openssl and keytool.
 */
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../dev/host/azurite';
import { submitAndWait, waitForResult } from '../../dev/host/submit';
import type { DevPki } from '../../dev/pki/devPki';
import type { Simulator } from '../../dev/simulator/server';
import type { IssuedResult, PkcsResult } from '../../shared/contract/types';
import { validateResult } from '../../shared/contract/validate';
import { startDevSimulator, type DevSimulator } from '../support/devSimulator';
import { startHostProcess, type HostProcess } from '../support/hostProcess';
import { runTool } from '../support/childProcess';
import { passwordByOpenssl, pfxContentsByOpenssl } from '../support/opensslPfx';
import { sidReadByOpenssl } from '../support/opensslSid';
import { describeWithTeamShared } from '../support/teamShared';
import { validateReceivedBodies } from '../support/xsd';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const SID_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196110';
const GUID_HEX = '04 10 b8 ba 65 41 f2 d4 07 41 a9 f7 47 08 f3 e4 28 5c';

let devSimulator: DevSimulator;
let dir: string;
let pki: DevPki;
let azurite: RunningAzurite;
let simulator: Simulator;
let host: HostProcess;
let counter = 0;

const queues = { requestQueue: 'e2e-requests', resultQueue: 'e2e-results' };

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    schemaVersion: 1,
    requestId: `e2e-${counter}-${Date.now()}`,
    certificateAuthority: simulator.authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: USER_PROFILE,
    subjectName: 'CN=IWUser0,E=IWUser0@contoso.onmicrosoft.com',
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: 'IWUser0@contoso.onmicrosoft.com' },
      { type: 'AltNameTypeUpn', value: 'IWUser0@contoso.onmicrosoft.com' },
      { type: 'AltNameTypeOtherName', oid: '1.3.6.1.4.1.311.25.1', value: GUID_HEX },
    ],
    recipientCertificate: pki.recipient.certPem,
    ...overrides,
  };
}

async function submit(body: Record<string, unknown>): Promise<PkcsResult> {
  const result = await submitAndWait(body, {
    storage: azurite.connectionString,
    ...queues,
    timeoutMs: 60000,
  });
  expect(validateResult(result)).toEqual({ valid: true });
  return result;
}

beforeAll(async () => {
  devSimulator = await startDevSimulator('e2e-');
  ({ dir, pki, simulator } = devSimulator);
  azurite = await startAzurite();
  host = startHostProcess({
    PATH: process.env.PATH,
    AzureWebJobsStorage: azurite.connectionString,
    PKCS_REQUEST_QUEUE: queues.requestQueue,
    PKCS_RESULT_QUEUE: queues.resultQueue,
    RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
    RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
    RA_CERT_THUMBPRINT: pki.ra.thumbprint,
    CA_ALLOWED_HOSTS: simulator.authority,
    CA_MAX_ATTEMPTS: '2',
    QUEUE_MAX_DEQUEUE_COUNT: '2',
    // No waiting beyond the queue's deliveries here, so GAVE_UP is reached (waiting: pipeline tests).
    REQUEST_MAX_WAIT_MINUTES: '0',
    CA_RETRY_BASE_DELAY_MS: '50',
    NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '1',
    // Several requests here are for one seat (IWUser0), as with npm start's own default.
    MAX_CERTIFICATES_PER_SEAT_PER_DAY: '1000',
  });
}, 120000);

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  await devSimulator?.close();
});

describe('the broker on the queues', () => {
  it('answers a malformed message with a failure, then issues for the good one after it', async () => {
    const requests = new QueueClient(azurite.connectionString, queues.requestQueue);
    await requests.createIfNotExists();
    await requests.sendMessage('{"schemaVersion": 1, "requestId": "broken-1", ');
    const good = await submit(request());
    expect(good.status).toBe('issued');

    // The message is not JSON, so its requestId cannot be trusted: its failure result names none.
    const results = new QueueClient(azurite.connectionString, queues.resultQueue);
    const malformed = await waitForResult(results, (result) => result.requestId === null, 30000);
    expect(malformed).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_REQUEST', retryable: false },
    });
    expect(validateResult(malformed)).toEqual({ valid: true });
  });

  it('issues a PFX that openssl and keytool open, with key, leaf, chain and SAN values right', async () => {
    const result = (await submit(request())) as IssuedResult;
    expect(result.status).toBe('issued');

    const pfxFile = path.join(dir, 'issued.pfx');
    writeFileSync(pfxFile, Buffer.from(result.pfx.data, 'base64'));
    const password = passwordByOpenssl(result, pki.recipient.keyPath, path.join(dir, 'password.enc'));
    expect(password.length).toBeGreaterThanOrEqual(32);
    const env = { PFX_PASSWORD: password };

    expect(
      runTool('openssl', ['pkcs12', '-in', pfxFile, '-info', '-noout', '-passin', 'env:PFX_PASSWORD'], env),
    ).toMatch(/MAC: sha1|MAC verified OK|PKCS7 Data/i);
    const { certificates, key } = pfxContentsByOpenssl(pfxFile, env);
    expect(certificates.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const keyFile = path.join(dir, 'key.pem');
    const leafFile = path.join(dir, 'leaf.pem');
    writeFileSync(keyFile, key, { mode: 0o600 });
    writeFileSync(leafFile, result.certificate.pem);
    const keyModulus = runTool('openssl', ['rsa', '-in', keyFile, '-noout', '-modulus']);
    const leafModulus = runTool('openssl', ['x509', '-in', leafFile, '-noout', '-modulus']);
    expect(keyModulus.trim()).toBe(leafModulus.trim());
    rmSync(keyFile);

    const text = runTool('openssl', ['x509', '-in', leafFile, '-noout', '-text']);
    expect(text).toContain('email:IWUser0@contoso.onmicrosoft.com');
    expect(text).toMatch(/othername: ?UPN::?IWUser0@contoso.onmicrosoft.com/i);
    // The objectGUID otherName: type-id 1.3.6.1.4.1.311.25.1, then [0] EXPLICIT with the request's DER bytes.
    const guidOtherName = Buffer.concat([
      Buffer.from('06092b0601040182371901a012', 'hex'),
      Buffer.from(GUID_HEX.replace(/ /g, ''), 'hex'),
    ]);
    expect(new X509Certificate(result.certificate.pem).raw.includes(guidOtherName)).toBe(true);

    const chainFile = path.join(dir, 'chain.pem');
    writeFileSync(chainFile, result.certificate.chainPem.join(''));
    expect(
      runTool('openssl', ['verify', '-CAfile', pki.caRoot.certPath, '-untrusted', chainFile, leafFile]),
    ).toContain('OK');

    const keytool = runTool(
      'keytool',
      ['-list', '-v', '-storetype', 'pkcs12', '-keystore', pfxFile, '-storepass:env', 'PFX_PASSWORD'],
      env,
    );
    expect(keytool).toContain('PrivateKeyEntry');
    expect(keytool).toMatch(/Certificate chain length: 3/);
  });

  it('issues on the SID profile a certificate with the SID extension, and refuses the two mismatches', async () => {
    const sid = 'S-1-5-21-1004336348-1177238915-682003330-512';
    const result = await submit(request({ certificateTemplateName: SID_PROFILE, securityIdentifier: sid }));
    if (result.status !== 'issued') throw new Error(`expected issued, got ${result.error.code}`);
    const leafFile = path.join(dir, 'sid-leaf.pem');
    writeFileSync(leafFile, result.certificate.pem);
    expect(sidReadByOpenssl(leafFile, 'PEM')).toBe(sid);
    const csr = simulator.issued.find(
      (c) => c.serialNumber === result.certificate.serialNumber,
    )!.csrDerBase64;
    const csrFile = path.join(dir, 'sid-request.der');
    writeFileSync(csrFile, Buffer.from(csr, 'base64'));
    expect(sidReadByOpenssl(csrFile, 'DER')).toBe(sid);

    for (const overrides of [{ securityIdentifier: sid }, { certificateTemplateName: SID_PROFILE }]) {
      const refused = await submit(request(overrides));
      expect(refused).toMatchObject({ status: 'failed', error: { code: 'POLICY_MISMATCH' } });
      expect(refused.status === 'failed' && refused.error.message).toContain('securityIdentifier');
    }
  });

  it('lets a request wait in the queue while the CA is down, and issues on redelivery', async () => {
    // Two attempts per delivery (CA_MAX_ATTEMPTS=2): the first delivery meets two 503s and is left on the
    // queue. (The policy is cached by now, so the enrollment is what fails.)
    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'enrollmentService' });
    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'enrollmentService' });
    const result = await submit(
      request({ subjectName: 'CN=Retry User,E=retry@contoso.com', subjectAlternativeNames: [] }),
    );
    expect(result.status).toBe('issued');
    expect(host.log).toMatch(/CA_UNAVAILABLE on delivery 1, will retry/);
  });
});

describe('nothing is lost', () => {
  it('reports GAVE_UP with the cause when the CA stays down through every delivery', async () => {
    // 2 attempts per delivery × 2 deliveries (QUEUE_MAX_DEQUEUE_COUNT=2): every one meets a 503.
    for (let i = 0; i < 4; i += 1)
      simulator.faults.enqueue({ kind: 'http', status: 503, service: 'enrollmentService' });
    const result = await submit(
      request({ subjectName: 'CN=Down User,E=down@contoso.com', subjectAlternativeNames: [] }),
    );
    expect(result).toMatchObject({ status: 'failed', error: { code: 'GAVE_UP', retryable: false } });
    expect(result.status === 'failed' && result.error.message).toContain('CA_UNAVAILABLE');
  });

  it('turns a message on the poison queue into a GAVE_UP result', async () => {
    const poison = new QueueClient(azurite.connectionString, `${queues.requestQueue}-poison`);
    await poison.createIfNotExists();
    const body = request({ context: { deviceId: 'poisoned-device' } });
    await poison.sendMessage(JSON.stringify(body));
    const results = new QueueClient(azurite.connectionString, queues.resultQueue);
    const result = await waitForResult(results, (r) => r.requestId === body.requestId, 30000);
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'GAVE_UP' },
      context: { deviceId: 'poisoned-device' },
    });
    expect(validateResult(result)).toEqual({ valid: true });
  });
});

describeWithTeamShared('wire format seen by the CA', () => {
  it('every SOAP body validates against the vendor XSD', () => {
    expect(simulator.received.length).toBeGreaterThan(0);
    for (const check of validateReceivedBodies(simulator.received)) {
      expect(check).toMatchObject({ valid: true });
    }
  });
});

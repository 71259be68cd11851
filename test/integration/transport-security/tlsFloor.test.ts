/**
 * TLS 1.2 at least on the connections the broker makes itself (the CA, Key Vault, Graph), even when Node's
 * defaults were lowered as `NODE_OPTIONS=--tls-min-v1.0 --tls-cipher-list=DEFAULT@SECLEVEL=0` would: against
 * a server that speaks TLS 1.1 only, each client fails the handshake and the server never sees a request.
 * A plain client on the lowered defaults does reach it, so each refusal is the client's own minVersion.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { SecretClient } from '@azure/keyvault-secrets';
import { Agent, request } from 'undici';
import { readSettings } from '../../../shared/config/settings';
import { PkiWsClient } from '../../../shared/digicert';
import { GraphSidOwnershipCheck } from '../../../shared/identity/graphSidCheck';
import { keyVaultClientOptions } from '../../../shared/ra-credential';
import { failureOf } from '../../support/brokerErrors';
import { createTestPki, type TestPki } from '../digicert/mtlsCa';

const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const fakeCredential = {
  getToken: async () => ({ token: 'dummy', expiresOnTimestamp: Date.now() + 3_600_000 }),
};
const defaults = { minVersion: tls.DEFAULT_MIN_VERSION, ciphers: tls.DEFAULT_CIPHERS };

let pki: TestPki;
let server: https.Server;
let port: number;
let served = 0;

beforeAll(async () => {
  pki = createTestPki();
  // OpenSSL 3 speaks TLS 1.1 only at security level 0.
  server = https.createServer(
    {
      key: pki.serverCertificate.keyPem,
      cert: pki.serverCertificate.certPem,
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    },
    (_request, response) => {
      served += 1;
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"error":{"code":"NotFound","message":"nothing here"}}');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  tls.DEFAULT_MIN_VERSION = 'TLSv1';
  tls.DEFAULT_CIPHERS = 'DEFAULT@SECLEVEL=0';
});

afterAll(async () => {
  tls.DEFAULT_MIN_VERSION = defaults.minVersion;
  tls.DEFAULT_CIPHERS = defaults.ciphers;
  await new Promise((resolve) => server?.close(resolve));
});

/** Runs `call` and returns how many requests reached the TLS 1.1 server meanwhile. */
async function requestsDuring(call: () => Promise<unknown>): Promise<number> {
  const before = served;
  await call();
  return served - before;
}

it('a client on the lowered defaults reaches the TLS 1.1 server', async () => {
  const agent = new Agent({ connect: { ca: [pki.serverCa.certPem] } });
  try {
    const response = await request(`https://localhost:${port}/`, { dispatcher: agent });
    await response.body.dump();
    expect(response.statusCode).toBe(404);
  } finally {
    await agent.close();
  }
});

it('the CA transport refuses it: CA_TLS_FAILED, nothing sent', async () => {
  const authority = `localhost:${port}`;
  const client = new PkiWsClient({
    settings: readSettings({ CA_ALLOWED_HOSTS: authority, CA_MAX_ATTEMPTS: '1' }),
    credential: async () => pki.ra,
    extraTrustedCaPem: [pki.serverCa.certPem],
  });
  try {
    let failure: Error | undefined;
    const sent = await requestsDuring(async () => {
      failure = await failureOf(client.getStatus(authority, PROFILE));
    });
    expect(failure).toMatchObject({
      code: 'CA_TLS_FAILED',
      message: expect.stringMatching(/PROTOCOL_VERSION/),
    });
    expect(sent).toBe(0);
  } finally {
    await client.close();
  }
});

describe('Key Vault (the Azure SDK)', () => {
  const vaultUrl = (): string => `https://localhost:${port}`;
  const options = () =>
    keyVaultClientOptions(vaultUrl(), { trustedCaPemForTests: pki.serverCa.certPem, maxRetries: 0 });

  it('refuses it: the SDK hands minVersion to its https.Agent', async () => {
    const client = new SecretClient(vaultUrl(), fakeCredential, options());
    let error: unknown;
    const sent = await requestsDuring(() =>
      client.getSecret('ra').catch((caught: unknown) => (error = caught)),
    );
    expect(error).toMatchObject({ code: 'EPROTO', message: expect.stringMatching(/protocol version/i) });
    expect(sent).toBe(0);
  });

  it('would reach it without minVersion (so the test above proves the option arrives)', async () => {
    const { minVersion, ...withoutFloor } = options().tlsOptions as { minVersion?: string };
    expect(minVersion).toBe('TLSv1.2');
    const client = new SecretClient(vaultUrl(), fakeCredential, { ...options(), tlsOptions: withoutFloor });
    const sent = await requestsDuring(() => client.getSecret('ra').catch(() => undefined));
    expect(sent).toBeGreaterThan(0);
  });
});

it('the Graph SID check refuses it: unreachable, nothing sent', async () => {
  const check = new GraphSidOwnershipCheck({
    baseUrl: `https://localhost:${port}`,
    credential: fakeCredential,
    trustedCaPemForTests: pki.serverCa.certPem,
  });
  try {
    let lookup: unknown;
    const sent = await requestsDuring(async () => {
      lookup = await check.lookUp('user@contoso.com');
    });
    expect(lookup).toMatchObject({ kind: 'unreachable', detail: expect.stringMatching(/PROTOCOL_VERSION/) });
    expect(sent).toBe(0);
  } finally {
    await check.close();
  }
});

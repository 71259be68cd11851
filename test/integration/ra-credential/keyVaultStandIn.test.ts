/**
 * The Key Vault stand-in at the HTTP level: the challenge, the managed-identity endpoint's rules, the
 * token check, paths with and without version, error bodies. (The SDK-level behaviour is in
 * keyVaultSource.test.ts.)
 */
import http from 'node:http';
import https from 'node:https';
import {
  createStandInTls,
  startKeyVaultStandIn,
  type KeyVaultStandIn,
} from '../../../dev/keyvault-standin/server';
import { readPkcs12 } from '../../../shared/ra-credential/material';
import { buildPfx, createRaFixtures, thumbprint, type RaFixtures } from './raFixtures';

let fixtures: RaFixtures;
let tls: ReturnType<typeof createStandInTls>;
let vault: KeyVaultStandIn;
let clock = Date.now();

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers, ca: tls.rootCertPem }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        }),
      );
    });
    request.on('error', reject);
  });
}

async function token(): Promise<string> {
  const answer = await get(
    `${vault.identityEndpoint}?api-version=2019-08-01&resource=https://vault.azure.net`,
    {
      'X-IDENTITY-HEADER': vault.identityHeader,
    },
  );
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

beforeAll(async () => {
  fixtures = createRaFixtures();
  tls = createStandInTls();
  vault = await startKeyVaultStandIn({
    tls: { certPem: tls.certPem, keyPem: tls.keyPem },
    tenantId: '11111111-2222-4333-8444-555555555555',
    tokenLifetimeSeconds: 600,
    now: () => new Date(clock),
  });
});

afterAll(async () => {
  await vault?.close();
});

describe('Key Vault stand-in', () => {
  it('answers an unauthenticated request with the bearer challenge naming tenant and resource', async () => {
    const answer = await get(`${vault.url}/secrets/anything/?api%2Dversion=2025-07-01`);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe(
      'Bearer authorization="https://login.microsoftonline.com/11111111-2222-4333-8444-555555555555", resource="https://vault.azure.net"',
    );
    expect(vault.requests.at(-1)).toMatchObject({
      kind: 'secrets',
      name: 'anything',
      apiVersion: '2025-07-01',
      authorization: 'none',
    });
  });

  it('managed-identity endpoint: App Service 2019-08-01 shape, secret header required', async () => {
    const base = `${vault.identityEndpoint}?api-version=2019-08-01&resource=https://vault.azure.net`;
    expect((await get(base)).status).toBe(401);
    expect((await get(base, { 'X-IDENTITY-HEADER': 'guess' })).status).toBe(401);
    const header = { 'X-IDENTITY-HEADER': vault.identityHeader };
    expect(
      (await get(`${vault.identityEndpoint}?api-version=2017-09-01&resource=https://vault.azure.net`, header))
        .status,
    ).toBe(400);
    expect(
      (
        await get(
          `${vault.identityEndpoint}?api-version=2019-08-01&resource=https://management.azure.com`,
          header,
        )
      ).status,
    ).toBe(400);
    expect((await get(`${base}&client_id=not-assigned`, header)).body).toMatchObject({
      message: 'Unable to load the proper Managed Identity.',
    });

    const answer = await get(`${base}/`, header);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ resource: 'https://vault.azure.net', token_type: 'Bearer' });
    expect(answer.body.expires_on).toBe(String(Math.floor(clock / 1000) + 600));
    expect(typeof answer.body.access_token).toBe('string');
  });

  it('accepts only tokens it issued, until they expire', async () => {
    const issued = await token();
    const url = `${vault.url}/certificates/absent/?api-version=2025-07-01`;
    expect((await get(url, { Authorization: 'Bearer made-up' })).status).toBe(401);
    expect((await get(url, { Authorization: `Bearer ${issued}` })).status).toBe(404);
    clock += 601_000;
    const expired = await get(url, { Authorization: `Bearer ${issued}` });
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toMatch(/^Bearer authorization=/);
  });

  it('serves the latest version without a version segment, older ones by version, 404 bodies as Key Vault', async () => {
    const auth = { Authorization: `Bearer ${await token()}` };
    const first = vault.putCertificate('standin-ra', { pfx: buildPfx(fixtures.ra, { password: null }) });
    const second = vault.putCertificate('standin-ra', { pfx: buildPfx(fixtures.raNext, { password: null }) });
    expect(first.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.version).not.toBe(first.version);

    const latest = await get(`${vault.url}/certificates/standin-ra/?api%2Dversion=2025-07-01`, auth);
    expect(latest.status).toBe(200);
    expect(latest.body.id).toBe(`${vault.url}/certificates/standin-ra/${second.version}`);
    expect(
      Buffer.from(latest.body.x5t as string, 'base64url')
        .toString('hex')
        .toUpperCase(),
    ).toBe(thumbprint(fixtures.raNext));
    expect(latest.body.policy).toMatchObject({ key_props: { exportable: true, kty: 'RSA', key_size: 2048 } });

    const older = await get(
      `${vault.url}/certificates/STANDIN-RA/${first.version}?api-version=2025-07-01`,
      auth,
    );
    expect(older.body.id).toBe(`${vault.url}/certificates/standin-ra/${first.version}`);
    const withoutSlash = await get(`${vault.url}/secrets/standin-ra?api-version=2025-07-01`, auth);
    expect(withoutSlash.body).toMatchObject({ contentType: 'application/x-pkcs12', managed: true });

    expect(
      (await get(`${vault.url}/secrets/standin-ra/${'0'.repeat(32)}?api-version=2025-07-01`, auth)).body,
    ).toEqual({
      error: {
        code: 'SecretNotFound',
        message: expect.stringContaining(
          `A secret with (name/id) standin-ra/${'0'.repeat(32)} was not found`,
        ),
      },
    });
    expect((await get(`${vault.url}/secrets/standin-ra/`, auth)).status).toBe(400);
  });

  it('forbidden names answer 403 with the access-policy wording, per object kind', async () => {
    const auth = { Authorization: `Bearer ${await token()}` };
    vault.putCertificate('standin-locked', { pfx: buildPfx(fixtures.ra, { password: null }) });
    vault.setForbidden('standin-locked', ['secrets']);
    const secret = await get(`${vault.url}/secrets/standin-locked/?api-version=2025-07-01`, auth);
    expect(secret.status).toBe(403);
    expect(secret.body).toMatchObject({
      error: {
        code: 'Forbidden',
        message: expect.stringContaining('does not have secrets get permission'),
        innererror: { code: 'AccessDenied' },
      },
    });
    expect((await get(`${vault.url}/certificates/standin-locked/?api-version=2025-07-01`, auth)).status).toBe(
      200,
    );
  });

  it('a password-protected import is served without the password and without the key when not exportable', async () => {
    const auth = { Authorization: `Bearer ${await token()}` };
    vault.putCertificate('standin-nokey', {
      pfx: buildPfx(fixtures.ra, { password: 'secret-pw', algorithm: 'aes256' }),
      password: 'secret-pw',
      exportable: false,
    });
    const secret = await get(`${vault.url}/secrets/standin-nokey/?api-version=2025-07-01`, auth);
    const der = Buffer.from(secret.body.value as string, 'base64');
    // Opens without a password and holds a certificate but no key bag.
    const material = readPkcs12(der, undefined);
    expect(material.certificates).toHaveLength(1);
    expect(material.privateKeys).toHaveLength(0);
  });

  it('rejects names Key Vault would reject', () => {
    expect(() => vault.putCertificate('not_valid', { pem: fixtures.ra.certPem })).toThrow(
      /not a valid Key Vault object name/,
    );
  });
});

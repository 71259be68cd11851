/**
 * The production configuration, end to end, in a separate Node process: createRaCredentialSource(
 * readSettings(env)) with nothing but environment variables, as the Function App runs it.
 * - `new DefaultAzureCredential()` finds IDENTITY_ENDPOINT/IDENTITY_HEADER and asks the stand-in's App
 *   Service managed-identity endpoint for a token;
 * - the Key Vault clients trust the stand-in through NODE_EXTRA_CA_CERTS, which Node reads only at start-up
 *   (hence the child process: jest's own process has long started).
 * The child runs our TypeScript transpiled on the fly (typescript.transpileModule) into a temp folder.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createStandInTls,
  startKeyVaultStandIn,
  type KeyVaultStandIn,
} from '../../../dev/keyvault-standin/server';
import { runNode, transpileTree } from '../../support/childProcess';
import { buildPfx, createRaFixtures, thumbprint, type RaFixtures } from './raFixtures';

let fixtures: RaFixtures;
let tls: ReturnType<typeof createStandInTls>;
let vault: KeyVaultStandIn;
let workDir: string;
let rootCaFile: string;

const CHILD_SCRIPT = `
const crypto = require('node:crypto');
const { readSettings } = require('./shared/config/settings.js');
const { createRaCredentialSource } = require('./shared/ra-credential/index.js');
createRaCredentialSource(readSettings(process.env)).load().then(
  (credential) => {
    const keyMatches = new crypto.X509Certificate(credential.certificatePem)
      .checkPrivateKey(crypto.createPrivateKey(credential.privateKeyPem));
    process.stdout.write(JSON.stringify({ thumbprint: credential.thumbprint, source: credential.source,
      chain: credential.chainPem.length, keyMatches }));
  },
  (error) => {
    process.stdout.write(JSON.stringify({ error: { code: error.code, message: error.message } }));
  },
);
`;

interface ChildResult {
  thumbprint?: string;
  source?: string;
  chain?: number;
  keyMatches?: boolean;
  error?: { code: string; message: string };
}

async function runChild(env: Record<string, string>): Promise<ChildResult> {
  const run = await runNode(['-e', CHILD_SCRIPT], {
    cwd: workDir,
    timeoutMs: 30_000,
    env,
    repositoryModules: true,
  });
  if (run.error && run.stdout === '') throw new Error(`child failed: ${run.error.message}\n${run.stderr}`);
  return JSON.parse(run.stdout) as ChildResult;
}

beforeAll(async () => {
  fixtures = createRaFixtures();
  tls = createStandInTls();
  vault = await startKeyVaultStandIn({ tls: { certPem: tls.certPem, keyPem: tls.keyPem } });
  workDir = await mkdtemp(path.join(os.tmpdir(), 'ra-credential-child-'));
  rootCaFile = path.join(workDir, 'dev-tls-root.pem');
  await writeFile(rootCaFile, tls.rootCertPem);
  await transpileTree('shared/ra-credential/index.ts', workDir);
  await transpileTree('shared/config/settings.ts', workDir);
});

afterAll(async () => {
  await vault?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('RA credential from Key Vault in a production-configured process', () => {
  it('DefaultAzureCredential → MSI endpoint → Key Vault, trusting the vault via NODE_EXTRA_CA_CERTS only', async () => {
    const stored = vault.putCertificate('ra-child', {
      pfx: buildPfx(fixtures.ra, { password: 'import-pw', algorithm: 'aes256', chain: [fixtures.raCa] }),
      password: 'import-pw',
    });
    const tokenRequestsBefore = vault.tokenRequests.length;
    const settingsEnv = {
      ...vault.identityEnvironment,
      KEY_VAULT_URL: vault.url,
      RA_CERTIFICATE_NAME: 'ra-child',
      RA_CERT_THUMBPRINT: thumbprint(fixtures.ra)
        .replace(/(..)(?!$)/g, '$1 ')
        .toLowerCase(),
    };

    const result = await runChild({ ...settingsEnv, NODE_EXTRA_CA_CERTS: rootCaFile });
    expect(result).toEqual({
      thumbprint: thumbprint(fixtures.ra),
      source: `Key Vault certificate "ra-child" (version ${stored.version}) in ${vault.url}`,
      chain: 1,
      keyMatches: true,
    });
    expect(vault.tokenRequests.slice(tokenRequestsBefore)).toEqual([
      {
        resource: 'https://vault.azure.net',
        apiVersion: '2019-08-01',
        identityHeaderValid: true,
        status: 200,
      },
    ]);
    const vaultRequests = vault.requests.filter((request) => request.name === 'ra-child');
    expect(
      vaultRequests.filter((request) => request.authorization === 'issued').map((r) => r.status),
    ).toEqual([200, 200]);

    // The same process without NODE_EXTRA_CA_CERTS does not trust the stand-in: the trust came from there.
    const untrusted = await runChild(settingsEnv);
    expect(untrusted.error?.code).toBe('RA_CERT_UNAVAILABLE');
    expect(untrusted.error?.message).toMatch(
      /the TLS connection to Key Vault failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    );
  });

  it('missing settings are reported by load(), naming them', async () => {
    const result = await runChild({ RA_CERTIFICATE_NAME: 'ra-child' });
    expect(result.error).toEqual({
      code: 'RA_CERT_UNAVAILABLE',
      message:
        'RA certificate not configured: KEY_VAULT_URL is not set (and no RA_CERTIFICATE_PFX_FILE either).',
    });
  });
});

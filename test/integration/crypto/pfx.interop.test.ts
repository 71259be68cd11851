import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import {
  buildPfx,
  createPfxPassword,
  generateKeyPair,
  type KeyPair,
  type PfxEncryption,
} from '../../../shared/crypto';
import { createTestPki, type TestPki } from '../../unit/crypto/fixtures';
import { describeWithTools, pemBlocks, runTool, useTempDir } from './tools';

const KEY_BAG_ALGORITHM: Record<PfxEncryption, RegExp> = {
  AES256: /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/,
  '3DES': /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/,
};

/** SHA-256 where every current reader takes it; SHA-1 with 3DES, for the old ones that need both. */
const MAC_ALGORITHM: Record<PfxEncryption, RegExp> = {
  AES256: /MAC: sha256, Iteration 2048/,
  '3DES': /MAC: sha1, Iteration 2048/,
};

interface Scenario {
  keys: KeyPair;
  pki: TestPki;
  password: string;
  file: string;
  pfx: Buffer;
}

function spkiOf(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
}

/** What openssl, keytool and Node must see in a PFX holding our key, the leaf and `chain`. Returns keytool's listing. */
function expectPfxOpens(scenario: Scenario, encryption: PfxEncryption, chain: string[]): string {
  const env = { PFX_PASSWORD: scenario.password };
  const info = runTool(
    'openssl',
    ['pkcs12', '-in', scenario.file, '-info', '-noout', '-passin', 'env:PFX_PASSWORD'],
    env,
  );
  expect(info.stderr).not.toMatch(/error|invalid/i);
  expect(info.status).toBe(0);
  expect(info.stderr).toMatch(KEY_BAG_ALGORITHM[encryption]);
  expect(info.stderr).toMatch(MAC_ALGORITHM[encryption]);

  const certificates = runTool(
    'openssl',
    ['pkcs12', '-in', scenario.file, '-nokeys', '-passin', 'env:PFX_PASSWORD'],
    env,
  );
  expect(certificates.status).toBe(0);
  expect(pemBlocks(certificates.stdout).map((pem) => new X509Certificate(pem).fingerprint256)).toEqual(
    [scenario.pki.leaf.certPem, ...chain].map((pem) => new X509Certificate(pem).fingerprint256),
  );
  // Key and leaf are paired by the same localKeyID attribute (what Windows uses to join them).
  const leafKeyId = /localKeyID: ([0-9A-F ]+)/.exec(certificates.stdout)?.[1];
  expect(leafKeyId).toBeDefined();

  const key = runTool(
    'openssl',
    ['pkcs12', '-in', scenario.file, '-nocerts', '-nodes', '-passin', 'env:PFX_PASSWORD'],
    env,
  );
  expect(key.status).toBe(0);
  expect(key.stdout).toContain(`localKeyID: ${leafKeyId}`);
  const [keyPem] = pemBlocks(key.stdout, 'PRIVATE KEY');
  expect(spkiOf(keyPem!).equals(scenario.keys.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);

  const list = runTool(
    'keytool',
    ['-list', '-v', '-storetype', 'pkcs12', '-keystore', scenario.file, '-storepass:env', 'PFX_PASSWORD'],
    env,
  );
  expect(list.status).toBe(0);
  expect(list.stdout).toMatch(/Your keystore contains 1 entry/);
  expect(list.stdout).toMatch(/Entry type: PrivateKeyEntry/);
  expect(list.stdout).toMatch(new RegExp(`Certificate chain length: ${1 + chain.length}\\b`));

  expect(() => createSecureContext({ pfx: scenario.pfx, passphrase: scenario.password })).not.toThrow();
  return list.stdout;
}

/** Wrong passwords must fail in both tools: proves the checks above can fail. */
function expectWrongPasswordFails(file: string): void {
  const env = { PFX_PASSWORD: 'not-the-password' };
  const info = runTool(
    'openssl',
    ['pkcs12', '-in', file, '-info', '-noout', '-passin', 'env:PFX_PASSWORD'],
    env,
  );
  expect(info.status).not.toBe(0);
  expect(info.stderr).toMatch(/Mac verify error/);
  const list = runTool(
    'keytool',
    ['-list', '-storetype', 'pkcs12', '-keystore', file, '-storepass:env', 'PFX_PASSWORD'],
    env,
  );
  expect(list.status).not.toBe(0);
  expect(list.stdout + list.stderr).toMatch(/integrity check failed|password was incorrect/i);
}

function writePfx(
  scenario: Omit<Scenario, 'file' | 'pfx'>,
  file: string,
  encryption: PfxEncryption,
  chain: string[],
): Scenario {
  const pfx = buildPfx({
    privateKey: scenario.keys.privateKey,
    leafPem: scenario.pki.leaf.certPem,
    chainPem: chain,
    password: scenario.password,
    encryption,
    friendlyName: 'IWUser0',
  });
  writeFileSync(file, pfx, { mode: 0o600 });
  return { ...scenario, file, pfx };
}

describeWithTools(['openssl', 'keytool'], 'buildPfx read by OpenSSL 3, keytool and Node', () => {
  const temp = useTempDir();
  let keys2048: KeyPair;
  let pki2048: TestPki;
  beforeAll(async () => {
    keys2048 = await generateKeyPair(2048);
    pki2048 = createTestPki(keys2048.publicKey);
  });

  it.each<PfxEncryption>(['AES256', '3DES'])('%s, RSA-2048, leaf + issuing CA + root', (encryption) => {
    const chain = [pki2048.issuing.certPem, pki2048.root.certPem];
    const scenario = writePfx(
      { keys: keys2048, pki: pki2048, password: createPfxPassword() },
      temp.path(`2048-${encryption}.pfx`),
      encryption,
      chain,
    );
    expectPfxOpens(scenario, encryption, chain);
    expectWrongPasswordFails(scenario.file);
  });

  it('AES256, RSA-4096, leaf + issuing CA', async () => {
    const keys = await generateKeyPair(4096);
    const pki = createTestPki(keys.publicKey);
    const chain = [pki.issuing.certPem];
    const scenario = writePfx(
      { keys, pki, password: createPfxPassword() },
      temp.path('4096.pfx'),
      'AES256',
      chain,
    );
    const listing = expectPfxOpens(scenario, 'AES256', chain);
    expect(listing).toMatch(/4096-bit RSA key/);
    expectWrongPasswordFails(scenario.file);
  });
});

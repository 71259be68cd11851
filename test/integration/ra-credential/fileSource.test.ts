/**
 * FileRaCredentialSource (RA_CERTIFICATE_PFX_FILE / RA_CERTIFICATE_PFX_PASSWORD) with PFX files as forge
 * and OpenSSL 3 write them (3DES, AES-256, RC2 legacy, empty and no password), PEM files, each failure,
 * and createRaCredentialSource choosing the file.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readSettings } from '../../../shared/config/settings';
import type { BrokerError } from '../../../shared/contract/errors';
import { createRaCredentialSource, FileRaCredentialSource } from '../../../shared/ra-credential';
import { buildPem, buildPfx, createRaFixtures, thumbprint, type RaFixtures } from './raFixtures';
import { failureOf } from '../../support/brokerErrors';

const run = promisify(execFile);
const PASSWORD = 'Pfx-Passw0rd!';

let fixtures: RaFixtures;
let dir: string;

async function file(name: string, content: Buffer | string): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, content);
  return target;
}

async function failure(load: Promise<unknown>): Promise<BrokerError> {
  const brokerError = await failureOf(load);
  expect(brokerError.code).toBe('RA_CERT_UNAVAILABLE');
  const reported = `${brokerError.message} ${brokerError.remedy}`;
  expect(reported).not.toContain(PASSWORD);
  expect(reported).not.toMatch(/PRIVATE KEY-----/);
  return brokerError;
}

beforeAll(async () => {
  fixtures = createRaFixtures();
  dir = await mkdtemp(path.join(os.tmpdir(), 'ra-credential-file-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('FileRaCredentialSource', () => {
  it.each(['3des', 'aes256'] as const)(
    'reads a %s PFX with its chain; the CA certificate stays chain',
    async (algorithm) => {
      const pfxFile = await file(
        `ra-${algorithm}.pfx`,
        buildPfx(fixtures.ra, { password: PASSWORD, algorithm, chain: [fixtures.raCa] }),
      );
      const loaded = await new FileRaCredentialSource({ pfxFile, password: PASSWORD }).load();
      expect(loaded.thumbprint).toBe(thumbprint(fixtures.ra));
      expect(loaded.source).toBe(`file ${pfxFile}`);
      expect(loaded.subject).toBe('CN=Dev RA, O=Contoso');
      expect(loaded.certificatePem).toBe(fixtures.ra.certPem.replace(/\r\n/g, '\n'));
      expect(loaded.chainPem).toEqual([fixtures.raCa.certPem.replace(/\r\n/g, '\n')]);
      expect(loaded.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    },
  );

  it('reads a password-less PFX when no password is set', async () => {
    const pfxFile = await file('ra-nopw.pfx', buildPfx(fixtures.ra, { password: null }));
    await expect(new FileRaCredentialSource({ pfxFile }).load()).resolves.toMatchObject({
      thumbprint: thumbprint(fixtures.ra),
    });
    await expect(new FileRaCredentialSource({ pfxFile, password: '' }).load()).resolves.toMatchObject({
      thumbprint: thumbprint(fixtures.ra),
    });
  });

  it('wrong password: says so, names the setting, never the password', async () => {
    const pfxFile = await file('ra-wrongpw.pfx', buildPfx(fixtures.ra, { password: PASSWORD }));
    const error = await failure(new FileRaCredentialSource({ pfxFile, password: 'not-the-password' }).load());
    expect(error.message).toBe(
      `RA certificate from file ${pfxFile}: wrong password: the PFX does not open with the password given (PKCS#12 MAC could not be verified. Invalid password?) (RA_CERTIFICATE_PFX_PASSWORD is set).`,
    );
    expect(error.message).not.toContain('not-the-password');
    expect(error.remedy).toMatch(/Set RA_CERTIFICATE_PFX_PASSWORD to the password the PFX was exported with/);

    const unset = await failure(new FileRaCredentialSource({ pfxFile }).load());
    expect(unset.message).toMatch(
      /does not open with an empty password .*RA_CERTIFICATE_PFX_PASSWORD is not set/,
    );
  });

  it('missing file, not a PFX', async () => {
    const missing = await failure(
      new FileRaCredentialSource({ pfxFile: path.join(dir, 'absent.pfx') }).load(),
    );
    expect(missing.message).toBe(
      `RA certificate from file ${path.join(dir, 'absent.pfx')}: missing: the file does not exist.`,
    );
    expect(missing.remedy).toMatch(/Set RA_CERTIFICATE_PFX_FILE/);

    const garbage = await file('garbage.pfx', Buffer.from('this is no pkcs12 at all'));
    const notPfx = await failure(new FileRaCredentialSource({ pfxFile: garbage, password: PASSWORD }).load());
    expect(notPfx.message).toMatch(/: not a PFX: not a PKCS#12 \(PFX\) structure/);
  });

  it('PFX without private key, and with a key of another certificate', async () => {
    const noKey = await file(
      'ra-nokey.pfx',
      buildPfx(fixtures.ra, { password: PASSWORD, keyPem: null, chain: [fixtures.raCa] }),
    );
    const missingKey = await failure(
      new FileRaCredentialSource({ pfxFile: noKey, password: PASSWORD }).load(),
    );
    expect(missingKey.message).toMatch(
      /no private key: the RA certificate [0-9A-F]{40} came without its private key/,
    );
    expect(missingKey.message).toContain(thumbprint(fixtures.ra));
    expect(missingKey.remedy).toMatch(/"Yes, export the private key"/);

    const stranger = await file(
      'ra-stranger.pfx',
      buildPfx(fixtures.ra, { password: PASSWORD, keyPem: fixtures.strangerKeyPem }),
    );
    const mismatch = await failure(
      new FileRaCredentialSource({ pfxFile: stranger, password: PASSWORD }).load(),
    );
    expect(mismatch.message).toMatch(
      /private key does not match the certificate: none of the 1 private key\(s\) belongs to/,
    );
  });

  it('pin, EKU and validity checks name the file in the remedy', async () => {
    const pfxFile = await file('ra-pin.pfx', buildPfx(fixtures.ra, { password: PASSWORD }));
    const pinned = await failure(
      new FileRaCredentialSource({
        pfxFile,
        password: PASSWORD,
        thumbprintPin: thumbprint(fixtures.raNext),
      }).load(),
    );
    expect(pinned.remedy).toContain(`update RA_CERT_THUMBPRINT to ${thumbprint(fixtures.ra)}`);
    expect(pinned.remedy).toContain('point RA_CERTIFICATE_PFX_FILE at the pinned certificate');

    const serverOnly = await file('ra-server.pfx', buildPfx(fixtures.serverAuthOnly, { password: PASSWORD }));
    const eku = await failure(new FileRaCredentialSource({ pfxFile: serverOnly, password: PASSWORD }).load());
    expect(eku.message).toMatch(
      /has EKU 1\.3\.6\.1\.5\.5\.7\.3\.1, but mutual TLS with DigiCert needs 1\.3\.6\.1\.5\.5\.7\.3\.2/,
    );

    const expiredFile = await file('ra-expired.pfx', buildPfx(fixtures.expired, { password: PASSWORD }));
    const expired = await failure(
      new FileRaCredentialSource({ pfxFile: expiredFile, password: PASSWORD }).load(),
    );
    expect(expired.remedy).toMatch(
      /export it as a PFX with its private key and point RA_CERTIFICATE_PFX_FILE at it/,
    );
  });

  it('reads a PEM file (key + certificate + chain), also with an encrypted PKCS#8 key', async () => {
    const pemFile = await file('ra.pem', buildPem(fixtures.ra, { chain: [fixtures.raCa] }));
    await expect(new FileRaCredentialSource({ pfxFile: pemFile }).load()).resolves.toMatchObject({
      thumbprint: thumbprint(fixtures.ra),
      chainPem: [expect.stringContaining('BEGIN CERTIFICATE')],
    });
    const { createPrivateKey } = await import('node:crypto');
    const encryptedKey = createPrivateKey(fixtures.ra.keyPem!)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSWORD })
      .toString();
    const encryptedFile = await file('ra-encrypted.pem', `${encryptedKey}${fixtures.ra.certPem}`);
    await expect(
      new FileRaCredentialSource({ pfxFile: encryptedFile, password: PASSWORD }).load(),
    ).resolves.toMatchObject({
      thumbprint: thumbprint(fixtures.ra),
    });
    const wrong = await failure(
      new FileRaCredentialSource({ pfxFile: encryptedFile, password: 'nope' }).load(),
    );
    expect(wrong.message).toMatch(/wrong password: the encrypted private key in the PEM does not open/);
  });
});

describe('PFX files written by OpenSSL 3', () => {
  let keyFile: string;
  let certFile: string;
  let caFile: string;

  beforeAll(async () => {
    keyFile = await file('ra.key', fixtures.ra.keyPem!);
    certFile = await file('ra.crt', fixtures.ra.certPem);
    caFile = await file('ca.crt', fixtures.raCa.certPem);
  });

  const variants: [string, string[], string | undefined][] = [
    ['default (AES-256-CBC, PBKDF2-SHA256, SHA-256 MAC)', [`-passout`, `pass:${PASSWORD}`], PASSWORD],
    ['-legacy (RC2-40 / 3DES, SHA-1 MAC)', ['-legacy', '-passout', `pass:${PASSWORD}`], PASSWORD],
    ['empty password', ['-passout', 'pass:'], undefined],
    [
      'no encryption, no MAC',
      ['-passout', 'pass:', '-keypbe', 'NONE', '-certpbe', 'NONE', '-nomac'],
      undefined,
    ],
  ];

  it.each(variants)('reads %s', async (label, args, password) => {
    const out = path.join(dir, `openssl-${variants.findIndex(([name]) => name === label)}.pfx`);
    await run('openssl', [
      'pkcs12',
      '-export',
      '-inkey',
      keyFile,
      '-in',
      certFile,
      '-certfile',
      caFile,
      ...args,
      '-out',
      out,
    ]);
    const loaded = await new FileRaCredentialSource({ pfxFile: out, password }).load();
    expect(loaded.thumbprint).toBe(thumbprint(fixtures.ra));
    expect(loaded.chainPem).toHaveLength(1);
  });

  it('reads an EC (P-256) RA certificate', async () => {
    const ecKey = path.join(dir, 'ec.key');
    const ecCert = path.join(dir, 'ec.crt');
    const ecPfx = path.join(dir, 'ec.pfx');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      ecKey,
      '-out',
      ecCert,
      '-days',
      '30',
      '-subj',
      '/CN=Dev EC RA',
      '-addext',
      'extendedKeyUsage=clientAuth',
    ]);
    await run('openssl', [
      'pkcs12',
      '-export',
      '-inkey',
      ecKey,
      '-in',
      ecCert,
      '-passout',
      `pass:${PASSWORD}`,
      '-out',
      ecPfx,
    ]);
    const loaded = await new FileRaCredentialSource({ pfxFile: ecPfx, password: PASSWORD }).load();
    expect(loaded.subject).toBe('CN=Dev EC RA');
    expect(loaded.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect((await readFile(ecCert, 'utf8')).replace(/\r\n/g, '\n')).toBe(loaded.certificatePem);
  });
});

describe('createRaCredentialSource with RA_CERTIFICATE_PFX_FILE', () => {
  it('uses the file (even when Key Vault settings are present too) and caches the credential', async () => {
    const pfxFile = await file(
      'ra-settings.pfx',
      buildPfx(fixtures.ra, { password: PASSWORD, chain: [fixtures.raCa] }),
    );
    const settings = readSettings({
      RA_CERTIFICATE_PFX_FILE: pfxFile,
      RA_CERTIFICATE_PFX_PASSWORD: PASSWORD,
      RA_CERT_THUMBPRINT: thumbprint(fixtures.ra).toLowerCase(),
      KEY_VAULT_URL: 'https://unused.vault.azure.net',
      RA_CERTIFICATE_NAME: 'unused',
    });
    const source = createRaCredentialSource(settings);
    const first = await source.load();
    expect(first.source).toBe(`file ${pfxFile}`);
    await rm(pfxFile);
    expect(await source.load()).toBe(first);
    source.invalidate();
    const error = await failure(source.load());
    expect(error.message).toMatch(/missing: the file does not exist/);
  });
});

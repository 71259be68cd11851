import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import forge from 'node-forge';
import { ensureDevPki, readDevPki, type DevPki } from '../../../dev/pki/devPki';
import { run, temporaryDir } from './simulatorClient';

describe('ensureDevPki', () => {
  const dir = temporaryDir('dev-pki-');
  let pki: DevPki;

  beforeAll(async () => {
    pki = await ensureDevPki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates every certificate with its key, and says so', async () => {
    expect(pki.created).toBe(true);
    for (const certificate of [
      pki.tlsRootCa,
      pki.simulatorTls,
      pki.keyVaultTls,
      pki.caRoot,
      pki.caIssuing,
      pki.raCa,
      pki.ra,
      pki.recipient,
    ]) {
      expect(await fs.readFile(certificate.certPath, 'utf8')).toBe(certificate.certPem);
      expect(await fs.readFile(certificate.keyPath, 'utf8')).toBe(certificate.keyPem);
      // The key belongs to the certificate.
      const fromKey = createPublicKey(createPrivateKey(certificate.keyPem)).export({
        type: 'spki',
        format: 'der',
      });
      const fromCert = new X509Certificate(certificate.certPem).publicKey.export({
        type: 'spki',
        format: 'der',
      });
      expect(fromKey.equals(fromCert)).toBe(true);
      expect(certificate.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    }
  });

  it('chains the server certificates to the TLS root, with localhost and 127.0.0.1', () => {
    const root = new X509Certificate(pki.tlsRootCa.certPem);
    for (const server of [pki.simulatorTls, pki.keyVaultTls]) {
      const cert = new X509Certificate(server.certPem);
      expect(cert.checkIssued(root) && cert.verify(root.publicKey)).toBe(true);
      expect(cert.checkHost('localhost')).toBe('localhost');
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    }
    expect(root.ca).toBe(true);
  });

  it('makes the dev DigiCert issuing CA a CA under the dev root, distinct from the TLS and RA CAs', () => {
    const root = new X509Certificate(pki.caRoot.certPem);
    const issuing = new X509Certificate(pki.caIssuing.certPem);
    expect(issuing.ca).toBe(true);
    expect(issuing.checkIssued(root) && issuing.verify(root.publicKey)).toBe(true);
    const thumbprints = new Set(
      [pki.tlsRootCa, pki.caRoot, pki.caIssuing, pki.raCa].map((c) => c.thumbprint),
    );
    expect(thumbprints.size).toBe(4);
  });

  it('issues the RA certificate from the RA CA, for client authentication, subject CN=Dev RA, O=Contoso', () => {
    const ra = new X509Certificate(pki.ra.certPem);
    const raCa = new X509Certificate(pki.raCa.certPem);
    expect(ra.checkIssued(raCa) && ra.verify(raCa.publicKey)).toBe(true);
    expect(ra.subject.split('\n')).toEqual(['CN=Dev RA', 'O=Contoso']);
    expect(ra.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(ra.ca).toBe(false);
  });

  it('writes ra.pfx with the RA key and certificate only, under a random password kept in a 0600 file', async () => {
    const password = (await fs.readFile(pki.ra.pfxPasswordPath, 'utf8')).trim();
    expect(password).toBe(pki.ra.pfxPassword);
    expect(password.length).toBeGreaterThanOrEqual(24);
    const der = await fs.readFile(pki.ra.pfxPath);
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der.toString('binary')), password);
    const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
    const keyBags =
      p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? [];
    expect(certBags).toHaveLength(1);
    expect(keyBags).toHaveLength(1);
    expect(forge.pki.certificateToPem(certBags[0]!.cert!).replace(/\r/g, '')).toBe(
      pki.ra.certPem.replace(/\r/g, ''),
    );
    // Node can use it directly as a TLS client credential.
    expect(() => tls.createSecureContext({ pfx: der, passphrase: password })).not.toThrow();
    // So can OpenSSL 3 without -legacy.
    const openssl = await run('openssl', [
      'pkcs12',
      '-in',
      pki.ra.pfxPath,
      '-nokeys',
      '-passin',
      `file:${pki.ra.pfxPasswordPath}`,
    ]);
    expect(openssl.code).toBe(0);
    expect(openssl.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });

  it('keeps secrets out of the manifest and the key files private', async () => {
    const manifest = await fs.readFile(pki.manifestPath, 'utf8');
    expect(manifest).not.toContain(pki.ra.pfxPassword);
    expect(manifest).not.toContain('PRIVATE KEY');
    const parsed = JSON.parse(manifest) as { certificates: Record<string, { thumbprint: string }> };
    expect(parsed.certificates.ra?.thumbprint).toBe(pki.ra.thumbprint);
    for (const file of [pki.ra.keyPath, pki.caIssuing.keyPath, pki.ra.pfxPath, pki.ra.pfxPasswordPath]) {
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    }
  });

  it('reuses the material on the next call, and regenerates when it is incomplete', async () => {
    const again = await ensureDevPki(dir);
    expect(again.created).toBe(false);
    expect(again.ra.thumbprint).toBe(pki.ra.thumbprint);
    expect(again.ra.pfxPassword).toBe(pki.ra.pfxPassword);
    expect(again.caIssuing.keyPem).toBe(pki.caIssuing.keyPem);

    await fs.rm(path.join(dir, 'ca-issuing.key.pem'));
    expect(await readDevPki(dir)).toBeUndefined();
    const regenerated = await ensureDevPki(dir);
    expect(regenerated.created).toBe(true);
    expect(regenerated.caIssuing.thumbprint).not.toBe(pki.caIssuing.thumbprint);
    pki = regenerated;
  });

  it('regenerates material that is close to expiry', async () => {
    // Swap in an RA certificate that ends in 10 days (the same key, so only the expiry is wrong).
    const { createCertificate, loadCertificate } = await import('../../../dev/pki/certificates');
    const raCa = loadCertificate(pki.raCa.certPem, pki.raCa.keyPem);
    const publicKeyPem = createPublicKey(createPrivateKey(pki.ra.keyPem))
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const shortLived = createCertificate({
      subject: [{ shortName: 'CN', value: 'Dev RA' }],
      issuer: raCa,
      publicKeyPem,
      days: 10,
    });
    await fs.writeFile(pki.ra.certPath, shortLived.certPem);
    // Keep the manifest consistent, so only the expiry can be the reason to regenerate.
    const manifest = JSON.parse(await fs.readFile(pki.manifestPath, 'utf8')) as {
      certificates: Record<string, { thumbprint: string }>;
    };
    manifest.certificates.ra!.thumbprint = new X509Certificate(shortLived.certPem).fingerprint.replace(
      /:/g,
      '',
    );
    await fs.writeFile(pki.manifestPath, JSON.stringify(manifest));
    const renewed = await ensureDevPki(dir);
    expect(renewed.created).toBe(true);
    expect(renewed.ra.notAfter.getTime()).toBeGreaterThan(Date.now() + 300 * 86400_000);
  });

  it('lets two concurrent callers end up with the same material', async () => {
    const shared = temporaryDir('dev-pki-race-');
    try {
      const [a, b] = await Promise.all([ensureDevPki(shared), ensureDevPki(shared)]);
      expect(a.ra.thumbprint).toBe(b.ra.thumbprint);
      expect([a.created, b.created].sort()).toEqual([false, true]);
      const onDisk = await readDevPki(shared);
      expect(onDisk?.ra.thumbprint).toBe(a.ra.thumbprint);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});

/**
 * The local test PKI of the dev stack and the integration tests (never deployed): TLS server certificates
 * for the PKI-WS simulator and the Key Vault stand-in, a dev "DigiCert" root + issuing CA, an RA CA with the
 * RA client certificate (PEM and PFX) and a recipient certificate for PFX passwords. Created once per
 * folder and reused while every certificate is far from expiry. Private keys and the PFX password are dev
 * material only: written with mode 0600, never listed in the manifest.
 */
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { createCertificate, loadCertificate, type TestCertificate } from './certificates';

/** Bump when the layout or the content of the material changes: older folders are then regenerated. */
const DEV_PKI_FORMAT = 1;
/** Material closer than this to its notAfter is replaced. */
const RENEW_BEFORE_MS = 30 * 86400_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 397;
/** How long another process may hold the generation lock before it is considered dead. */
const LOCK_STALE_MS = 60_000;

export interface DevCertificate {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  /** Upper-case hex SHA-1 of the DER (what Windows shows as thumbprint). */
  thumbprint: string;
  thumbprintSha256: string;
  subject: string;
  serialNumber: string;
  notAfter: Date;
}

export interface DevRaCertificate extends DevCertificate {
  /** PKCS#12 with the RA key and certificate only (no CA certificates: toolchain-notes §8). */
  pfxPath: string;
  /** File holding the random PFX password (mode 0600). */
  pfxPasswordPath: string;
  pfxPassword: string;
}

export interface DevPki {
  dir: string;
  manifestPath: string;
  /** True when this call created the material, false when it reused what was there. */
  created: boolean;
  /** Trust anchor of the simulator's and the Key Vault stand-in's TLS server certificates. */
  tlsRootCa: DevCertificate;
  /** Server certificate of the PKI-WS simulator (DNS localhost, IP 127.0.0.1). */
  simulatorTls: DevCertificate;
  /** Server certificate of the Key Vault stand-in (DNS localhost, IP 127.0.0.1). */
  keyVaultTls: DevCertificate;
  /** The dev "DigiCert" root of issued end-entity certificates. */
  caRoot: DevCertificate;
  /** The dev "DigiCert" issuing CA: signs the certificates the simulator issues. */
  caIssuing: DevCertificate;
  /** Issuer of the RA certificate; the simulator trusts it for client certificates. */
  raCa: DevCertificate;
  /** The RA client certificate (EKU clientAuth). */
  ra: DevRaCertificate;
  /** Whoever receives PFX files: the PFX password is encrypted to this certificate. */
  recipient: DevCertificate;
}

type Role =
  'tlsRootCa' | 'simulatorTls' | 'keyVaultTls' | 'caRoot' | 'caIssuing' | 'raCa' | 'ra' | 'recipient';

const FILE_NAMES: Record<Role, string> = {
  tlsRootCa: 'tls-root-ca',
  simulatorTls: 'simulator-tls',
  keyVaultTls: 'keyvault-tls',
  caRoot: 'ca-root',
  caIssuing: 'ca-issuing',
  raCa: 'ra-ca',
  ra: 'ra',
  recipient: 'recipient',
};

const ROLES = Object.keys(FILE_NAMES) as Role[];
const RA_PFX = 'ra.pfx';
const RA_PFX_PASSWORD = 'ra.pfx.password';
const MANIFEST = 'manifest.json';
const LOCK = '.generating.lock';

interface ManifestEntry {
  cert: string;
  key: string;
  subject: string;
  thumbprint: string;
  thumbprintSha256: string;
  serialNumber: string;
  notAfter: string;
}

interface Manifest {
  format: number;
  /** Where the material was created; the file names below are relative to the manifest's folder. */
  dir: string;
  createdAt: string;
  certificates: Record<Role, ManifestEntry>;
  raPfx: { pfx: string; passwordFile: string };
}

/** Creates the dev PKI in `dir`, or reuses the one there if it is complete and not near expiry. */
export async function ensureDevPki(dir: string): Promise<DevPki> {
  const absolute = path.resolve(dir);
  await fs.mkdir(absolute, { recursive: true, mode: 0o700 });
  const existing = await readDevPki(absolute);
  if (existing !== undefined) return existing;
  return withLock(absolute, async () => {
    // Another process may have finished while we waited for the lock.
    const again = await readDevPki(absolute);
    if (again !== undefined) return again;
    return generate(absolute);
  });
}

/** Reads the material in `dir`; `undefined` when any part is missing, unreadable, outdated or near expiry. */
export async function readDevPki(dir: string): Promise<DevPki | undefined> {
  const absolute = path.resolve(dir);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(absolute, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.format !== DEV_PKI_FORMAT) return undefined;
  try {
    const loaded = {} as Record<Role, DevCertificate>;
    for (const role of ROLES) {
      const certPath = path.join(absolute, `${FILE_NAMES[role]}.pem`);
      const keyPath = path.join(absolute, `${FILE_NAMES[role]}.key.pem`);
      const [certPem, keyPem] = await Promise.all([
        fs.readFile(certPath, 'utf8'),
        fs.readFile(keyPath, 'utf8'),
      ]);
      const described = describe(certPem, keyPem, certPath, keyPath);
      if (described.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) return undefined;
      if (described.thumbprint !== manifest.certificates[role]?.thumbprint) return undefined;
      if (!keyMatches(certPem, keyPem)) return undefined;
      loaded[role] = described;
    }
    const pfxPath = path.join(absolute, RA_PFX);
    const pfxPasswordPath = path.join(absolute, RA_PFX_PASSWORD);
    await fs.access(pfxPath, fsConstants.R_OK);
    const pfxPassword = (await fs.readFile(pfxPasswordPath, 'utf8')).trim();
    if (pfxPassword === '') return undefined;
    return assemble(absolute, loaded, { pfxPath, pfxPasswordPath, pfxPassword }, false);
  } catch {
    return undefined;
  }
}

function keyMatches(certPem: string, keyPem: string): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  return new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }).equals(fromKey);
}

function describe(certPem: string, keyPem: string, certPath: string, keyPath: string): DevCertificate {
  const x509 = new X509Certificate(certPem);
  return {
    certPem,
    keyPem,
    certPath,
    keyPath,
    thumbprint: x509.fingerprint.replace(/:/g, '').toUpperCase(),
    thumbprintSha256: x509.fingerprint256.replace(/:/g, '').toUpperCase(),
    subject: x509.subject.split('\n').join(', '),
    serialNumber: x509.serialNumber.toUpperCase(),
    notAfter: new Date(x509.validTo),
  };
}

function assemble(
  dir: string,
  certificates: Record<Role, DevCertificate>,
  pfx: { pfxPath: string; pfxPasswordPath: string; pfxPassword: string },
  created: boolean,
): DevPki {
  return {
    dir,
    manifestPath: path.join(dir, MANIFEST),
    created,
    tlsRootCa: certificates.tlsRootCa,
    simulatorTls: certificates.simulatorTls,
    keyVaultTls: certificates.keyVaultTls,
    caRoot: certificates.caRoot,
    caIssuing: certificates.caIssuing,
    raCa: certificates.raCa,
    ra: { ...certificates.ra, ...pfx },
    recipient: certificates.recipient,
  };
}

async function generate(dir: string): Promise<DevPki> {
  const localhost = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  const made = {} as Record<Role, TestCertificate>;
  made.tlsRootCa = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev TLS Root CA' },
      { shortName: 'O', value: 'Dev PKI (local only)' },
    ],
    isCa: true,
    days: CA_DAYS,
  });
  made.simulatorTls = createCertificate({
    subject: [
      { shortName: 'CN', value: 'localhost' },
      { shortName: 'O', value: 'Dev PKI-WS simulator' },
    ],
    issuer: made.tlsRootCa,
    extKeyUsage: ['serverAuth'],
    days: LEAF_DAYS,
    ...localhost,
  });
  made.keyVaultTls = createCertificate({
    subject: [
      { shortName: 'CN', value: 'localhost' },
      { shortName: 'O', value: 'Dev Key Vault stand-in' },
    ],
    issuer: made.tlsRootCa,
    extKeyUsage: ['serverAuth'],
    days: LEAF_DAYS,
    ...localhost,
  });
  made.caRoot = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev DigiCert Root CA' },
      { shortName: 'O', value: 'Dev DigiCert (local only)' },
    ],
    isCa: true,
    days: CA_DAYS,
  });
  made.caIssuing = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev DigiCert Issuing CA' },
      { shortName: 'O', value: 'Dev DigiCert (local only)' },
    ],
    issuer: made.caRoot,
    isCa: true,
    days: CA_DAYS - 1,
  });
  made.raCa = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev RA CA' },
      { shortName: 'O', value: 'Dev DigiCert (local only)' },
    ],
    isCa: true,
    days: CA_DAYS,
  });
  made.ra = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev RA' },
      { shortName: 'O', value: 'Contoso' },
    ],
    issuer: made.raCa,
    extKeyUsage: ['clientAuth'],
    days: LEAF_DAYS,
  });
  made.recipient = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev PFX Recipient' },
      { shortName: 'O', value: 'Contoso' },
    ],
    days: LEAF_DAYS,
  });

  const certificates = {} as Record<Role, DevCertificate>;
  for (const role of ROLES) {
    const certPath = path.join(dir, `${FILE_NAMES[role]}.pem`);
    const keyPath = path.join(dir, `${FILE_NAMES[role]}.key.pem`);
    const { certPem, keyPem } = made[role];
    if (keyPem === undefined) throw new Error(`ensureDevPki: no private key was generated for ${role}`);
    await writeAtomically(certPath, certPem, 0o644);
    await writeAtomically(keyPath, keyPem, 0o600);
    certificates[role] = describe(certPem, keyPem, certPath, keyPath);
  }

  const pfxPassword = randomBytes(24).toString('base64url');
  const pfxPath = path.join(dir, RA_PFX);
  const pfxPasswordPath = path.join(dir, RA_PFX_PASSWORD);
  await writeAtomically(pfxPath, raPfx(made.ra, pfxPassword), 0o600);
  await writeAtomically(pfxPasswordPath, `${pfxPassword}\n`, 0o600);

  const manifest: Manifest = {
    format: DEV_PKI_FORMAT,
    dir,
    createdAt: new Date().toISOString(),
    certificates: Object.fromEntries(
      ROLES.map((role) => {
        const c = certificates[role];
        const entry: ManifestEntry = {
          cert: path.basename(c.certPath),
          key: path.basename(c.keyPath),
          subject: c.subject,
          thumbprint: c.thumbprint,
          thumbprintSha256: c.thumbprintSha256,
          serialNumber: c.serialNumber,
          notAfter: c.notAfter.toISOString(),
        };
        return [role, entry];
      }),
    ) as Record<Role, ManifestEntry>,
    raPfx: { pfx: RA_PFX, passwordFile: RA_PFX_PASSWORD },
  };
  // The manifest goes last: its presence marks the folder complete.
  await writeAtomically(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  return assemble(dir, certificates, { pfxPath, pfxPasswordPath, pfxPassword }, true);
}

/** PKCS#12 (AES-256, readable by Node 20, OpenSSL 3 and keytool) with the RA key and certificate only. */
function raPfx(ra: TestCertificate, password: string): Buffer {
  if (ra.key === undefined) throw new Error('ensureDevPki: the RA certificate has no private key');
  const asn1 = forge.pkcs12.toPkcs12Asn1(ra.key, [ra.cert], password, {
    algorithm: 'aes256',
    friendlyName: 'Dev RA',
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

async function writeAtomically(file: string, content: string | Buffer, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temporary, content, { mode });
  await fs.chmod(temporary, mode); // writeFile's mode is filtered by the umask
  await fs.rename(temporary, file);
}

/** One generator per folder across processes (the dev stack and tests may start together). */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lockPath = path.join(dir, LOCK);
  for (;;) {
    try {
      const handle = await fs.open(lockPath, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Gone between open and stat: the other generator has just finished, so try to take the lock again.
      const stat = await fs.stat(lockPath).catch(() => undefined);
      if (stat !== undefined && Date.now() - stat.mtimeMs > LOCK_STALE_MS) {
        await fs.rm(lockPath, { force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    await fs.rm(lockPath, { force: true });
  }
}

/** Reloads a CA of the dev PKI so it can sign (the simulator's issuing CA). */
export function loadDevCa(certificate: DevCertificate): TestCertificate {
  return loadCertificate(certificate.certPem, certificate.keyPem);
}

/**
 * The PFX (PKCS#12) handed to the device: private key, leaf and chain, built in memory with Node's crypto
 * (pkcs12.ts). Two formats, both measured to open in OpenSSL 3 without -legacy, JDK keytool and Node's TLS:
 * - 'AES256': key bag PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC, MAC HMAC-SHA-256 (Windows 10 1709+ and
 *   Server 2019+, macOS/iOS releases that read PBES2, Android, OpenSSL 3's own default);
 * - '3DES': key bag pbeWithSHAAnd3-KeyTripleDES-CBC, MAC HMAC-SHA-1 (what older Windows and Apple releases
 *   import).
 * 2048 iterations each; certificates in an unencrypted bag, unchanged, the leaf first; key and leaf share a
 * localKeyId (SHA-1 of the leaf) so Windows pairs them. Nothing here touches the disk.
 */
import { X509Certificate, createHash, randomBytes, type KeyObject } from 'node:crypto';
import { writePkcs12 } from './pkcs12';

export type PfxEncryption = 'AES256' | '3DES';

export interface PfxInput {
  privateKey: KeyObject;
  leafPem: string;
  /** The leaf's issuer first, up to the root. */
  chainPem: string[];
  password: string;
  encryption: PfxEncryption;
  friendlyName?: string;
}

/** The PFX's input with its certificates parsed already (parseIssuedToken's `leaf` and `chain`). */
export type PfxCertificatesInput = Omit<PfxInput, 'leafPem' | 'chainPem'> & {
  leaf: X509Certificate;
  /** The leaf's issuer first, up to the root. */
  chain: readonly X509Certificate[];
};

/** 32 random bytes, base64url: 43 characters of [A-Za-z0-9_-], safe in every PFX reader and on a command line. */
export function createPfxPassword(): string {
  return randomBytes(32).toString('base64url');
}

function readPem(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TypeError(`buildPfx: ${what} is not a PEM certificate (${(error as Error).message})`);
  }
}

export function buildPfx(input: PfxInput): Buffer {
  checkPasswordAndKey(input);
  const leaf = readPem(input.leafPem, 'leafPem');
  checkLeafCertifiesKey(leaf, input.privateKey, 'leafPem');
  const chain = input.chainPem.map((pem, index) => readPem(pem, `chainPem[${index}]`));
  return writePfx(input, leaf, chain);
}

/** buildPfx for certificates parsed already: the same checks but the parsing, the same bytes. */
export function buildPfxOfCertificates(input: PfxCertificatesInput): Buffer {
  checkPasswordAndKey(input);
  checkLeafCertifiesKey(input.leaf, input.privateKey, 'leaf');
  return writePfx(input, input.leaf, input.chain);
}

function checkPasswordAndKey(input: { password: string; privateKey: KeyObject }): void {
  // The MAC key is derived from the password's UTF-16 units and the PBES2 key from its UTF-8 bytes (RFC 7292
  // and 8018); readers agree on both only for ASCII. Our passwords are base64url.
  if (!/^[\x21-\x7e]+$/.test(input.password)) {
    throw new TypeError('buildPfx: the password must be non-empty printable ASCII');
  }
  if (input.privateKey.type !== 'private') throw new TypeError('buildPfx needs a private key');
}

function checkLeafCertifiesKey(leaf: X509Certificate, privateKey: KeyObject, what: string): void {
  if (!leaf.checkPrivateKey(privateKey)) throw new TypeError(`buildPfx: ${what} does not certify privateKey`);
}

function writePfx(
  input: Pick<PfxInput, 'privateKey' | 'password' | 'encryption' | 'friendlyName'>,
  leaf: X509Certificate,
  chain: readonly X509Certificate[],
): Buffer {
  return writePkcs12({
    privateKey: input.privateKey,
    certificates: [leaf.raw, ...chain.map((certificate) => certificate.raw)],
    password: input.password,
    keyBag: input.encryption === 'AES256' ? 'pbes2-aes256' : 'pkcs12-3des',
    mac: input.encryption === 'AES256' ? 'sha256' : 'sha1',
    localKeyId: createHash('sha1').update(leaf.raw).digest(),
    ...(input.friendlyName === undefined ? {} : { friendlyName: input.friendlyName }),
  });
}

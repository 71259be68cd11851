/**
 * The PFX (PKCS#12) handed to the device: private key, leaf and chain, built in memory with forge.
 *
 * What forge 1.4.3 writes (measured to open in OpenSSL 3 without -legacy, JDK keytool and Node's TLS):
 * - key bag: PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC ('AES256'), or pbeWithSHAAnd3-KeyTripleDES-CBC
 *   ('3DES', for old Windows), 2048 iterations;
 * - certificates in an unencrypted bag, the leaf first; key and leaf share a localKeyId (SHA-1 of the leaf)
 *   so Windows pairs them;
 * - integrity MAC: HMAC-SHA-1 (forge has no other MAC digest; SHA-1 is what every reader accepts).
 * Nothing here touches the disk: the password and the key only ever live in memory.
 */
import { X509Certificate, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { BrokerError } from '../contract/errors';

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

/** 32 random bytes, base64url: 43 characters of [A-Za-z0-9_-], safe in every PFX reader and on a command line. */
export function createPfxPassword(): string {
  return randomBytes(32).toString('base64url');
}

function toForgePrivateKey(privateKey: KeyObject): forge.pki.rsa.PrivateKey {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') {
    throw new TypeError('buildPfx needs an RSA private key');
  }
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'der' });
  return forge.pki.privateKeyFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(pkcs1.toString('binary'))));
}

const UNPACKABLE_CHAIN_REMEDY =
  'The DigiCert CA returned a certificate chain the PFX writer cannot carry (it handles RSA CA keys in strict DER). Check the issuing CA of the DigiCert certificate profile, and report the certificate named in the message to the broker maintainers.';

/**
 * forge re-encodes each certificate from its parsed form; a certificate that does not come back byte for byte
 * (or that forge cannot parse: it reads RSA keys only) would be a different, broken certificate in the PFX.
 */
function toForgeCertificate(certificate: X509Certificate, what: string): forge.pki.Certificate {
  const der = certificate.raw.toString('binary');
  let parsed: forge.pki.Certificate;
  try {
    parsed = forge.pki.certificateFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(der)));
  } catch (error) {
    throw new BrokerError(
      'CA_REJECTED',
      `The ${what} certificate (${certificate.subject.replace(/\n/g, ', ')}) cannot be put in the PFX: ${(error as Error).message}.`,
      { cause: error, remedy: UNPACKABLE_CHAIN_REMEDY },
    );
  }
  if (forge.asn1.toDer(forge.pki.certificateToAsn1(parsed)).getBytes() !== der) {
    throw new BrokerError(
      'CA_REJECTED',
      `The ${what} certificate (${certificate.subject.replace(/\n/g, ', ')}) is not strict DER and cannot be put in the PFX unchanged.`,
      { remedy: UNPACKABLE_CHAIN_REMEDY },
    );
  }
  return parsed;
}

function readPem(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TypeError(`buildPfx: ${what} is not a PEM certificate (${(error as Error).message})`);
  }
}

export function buildPfx(input: PfxInput): Buffer {
  // forge derives the PBES2 key from the password's char codes but the MAC key from its UTF-16 units; the two
  // agree with OpenSSL and Windows only for ASCII. Our passwords are base64url.
  if (!/^[\x21-\x7e]+$/.test(input.password)) {
    throw new TypeError('buildPfx: the password must be non-empty printable ASCII');
  }
  const privateKey = toForgePrivateKey(input.privateKey);
  const leaf = readPem(input.leafPem, 'leafPem');
  if (!leaf.checkPrivateKey(input.privateKey)) {
    throw new TypeError('buildPfx: leafPem does not certify privateKey');
  }
  const chain = input.chainPem.map((pem, index) => readPem(pem, `chainPem[${index}]`));

  const options: NonNullable<Parameters<typeof forge.pkcs12.toPkcs12Asn1>[3]> & { prfAlgorithm?: 'sha256' } =
    {
      algorithm: input.encryption === 'AES256' ? 'aes256' : '3des',
      useMac: true,
      generateLocalKeyId: true,
      count: 2048,
      ...(input.encryption === 'AES256' ? { prfAlgorithm: 'sha256' as const } : {}),
      ...(input.friendlyName === undefined ? {} : { friendlyName: input.friendlyName }),
    };
  const pfx = forge.pkcs12.toPkcs12Asn1(
    privateKey,
    [
      toForgeCertificate(leaf, 'issued'),
      ...chain.map((certificate) => toForgeCertificate(certificate, 'chain')),
    ],
    input.password,
    options,
  );
  return Buffer.from(forge.asn1.toDer(pfx).getBytes(), 'binary');
}

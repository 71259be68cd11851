/**
 * EC P-256 keys in shared/crypto: Node's generator, the key pool's own pool for the curve, the CSR signed
 * ecdsa-with-SHA256 over the EC SubjectPublicKeyInfo, and the token check finding the leaf by an EC key.
 */
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import {
  createCsr,
  directKeys,
  generateEcKeyPair,
  KeyGenerationError,
  KeyPool,
  parseIssuedToken,
  type KeyPair,
  type KeySpec,
} from '../../../shared/crypto';
import { bytesOf, contentOf, decodeOid, readChildren, readSingleElement, TAG } from '../../../shared/der';
import { publicKeySha256 } from '../../../shared/issuance/reconciliation';
import { createEcCertificateDer } from './fixtures';

const plan = {
  csrSubject: [{ shortName: 'CN', value: 'IWUser0' }],
  csrSan: [{ kind: 'email' as const, value: 'IWUser0@contoso.com' }],
};

let keys: KeyPair;
beforeAll(async () => {
  keys = await generateEcKeyPair('P-256');
});

describe('EC key generation and the key pool', () => {
  it('generates P-256 (prime256v1) key pairs', () => {
    expect(keys.curve).toBe('P-256');
    expect(keys.bits).toBe(256);
    expect(keys.privateKey.asymmetricKeyType).toBe('ec');
    expect(keys.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('pools EC keys apart from RSA keys, filled from the first take() (or warmed)', async () => {
    const asked: KeySpec[] = [];
    const generate = (spec: KeySpec): Promise<KeyPair> => {
      asked.push(spec);
      return Promise.resolve({ ...keys });
    };
    const pool = new KeyPool({ size: 2, warm: [], generate });
    expect(asked).toEqual([]);
    await pool.take('P-256');
    expect(asked.every((spec) => spec === 'P-256')).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pool.held('P-256').ready).toBe(2);
    expect(pool.held(2048)).toEqual({ ready: 0, generating: 0 });
    pool.close();

    const warmed: KeySpec[] = [];
    const warm = new KeyPool({
      size: 1,
      warm: ['P-256', 2048],
      generate: (spec) => {
        warmed.push(spec);
        return Promise.resolve({ ...keys });
      },
    });
    expect(warmed).toEqual(['P-256', 2048]);
    warm.close();
  });

  it('hands out EC keys from directKeys', async () => {
    expect((await directKeys.take('P-256')).publicKey.asymmetricKeyType).toBe('ec');
  });

  it('names the EC key when its generation fails', async () => {
    const pool = new KeyPool({ size: 1, warm: [], generate: () => Promise.reject(new Error('no entropy')) });
    const failure = pool.take('P-256');
    await expect(failure).rejects.toThrow(KeyGenerationError);
    await expect(failure).rejects.toThrow(/EC P-256 key generation failed: no entropy/);
    pool.close();
  });
});

describe('createCsr with an EC key', () => {
  it('carries the EC SPKI and an ecdsa-with-SHA256 signature (no parameters) that verifies', () => {
    const csr = createCsr(plan, keys);
    const [info, algorithm, signature] = readChildren(csr, readSingleElement(csr));
    const infoFields = readChildren(csr, info!);
    const spki = bytesOf(csr, infoFields[2]!);
    expect(spki).toEqual(keys.publicKey.export({ type: 'spki', format: 'der' }));
    const algorithmFields = readChildren(csr, algorithm!);
    expect(algorithmFields).toHaveLength(1);
    expect(algorithmFields[0]!.tag).toBe(TAG.OID);
    expect(decodeOid(contentOf(csr, algorithmFields[0]!))).toBe('1.2.840.10045.4.3.2');
    const signed = bytesOf(csr, info!);
    const value = contentOf(csr, signature!).subarray(1);
    expect(verify('sha256', signed, { key: keys.publicKey, dsaEncoding: 'der' }, value)).toBe(true);
  });

  it('refuses keys the broker does not make (P-384)', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => createCsr(plan, { ...p384, bits: 256 })).toThrow(/RSA or an EC P-256 key/);
  });
});

describe('the token check with an EC leaf', () => {
  it('finds the leaf by the EC key and hashes its SPKI as the ledger records it', () => {
    const { der, privateKey } = createEcCertificateDer('IWUser0');
    const publicKey = createPublicKey(privateKey);
    const issued = parseIssuedToken({ tokenDer: der, tokenType: 'X509v3' }, publicKey);
    expect(issued.leaf.raw).toEqual(der);
    expect(publicKeySha256(issued.leaf.publicKey)).toBe(publicKeySha256(publicKey));
    expect(publicKeySha256(issued.leaf.publicKey)).not.toBe(publicKeySha256(keys.publicKey));
    expect(() => parseIssuedToken({ tokenDer: der, tokenType: 'X509v3' }, keys.publicKey)).toThrow(
      expect.objectContaining({ code: 'CA_REJECTED' }),
    );
  });
});

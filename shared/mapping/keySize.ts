import { BrokerError } from '../contract/errors';
import type { KeySize } from '../contract/types';
import type { EcCurve, KeySpec } from '../crypto/keys';
import type { ProfilePolicy } from '../digicert/types';

export const SUPPORTED_KEY_SIZES: readonly KeySize[] = [2048, 3072, 4096];

function isSupported(value: number): value is KeySize {
  return (SUPPORTED_KEY_SIZES as readonly number[]).includes(value);
}

/**
 * RSA key size: the request's keySize, else the policy's keysize, else 2048. A request below the profile's
 * minimum is a POLICY_MISMATCH. A policy size the broker does not offer is rounded up to the next supported
 * size (sending a smaller key would only be refused by the CA); above 4096 is a POLICY_MISMATCH.
 */
export function chooseKeySize(requested: number | undefined, policyKeySize: number | undefined): KeySize {
  const required = policyKeySize !== undefined && Number.isFinite(policyKeySize) ? policyKeySize : undefined;
  if (requested !== undefined) {
    if (!isSupported(requested)) {
      throw new BrokerError(
        'INVALID_REQUEST',
        `keySize is ${String(requested)}; it must be 2048, 3072 or 4096.`,
        {
          remedy:
            'Set keySize to 2048, 3072 or 4096 in the request, or leave it out to use the profile policy.',
        },
      );
    }
    if (required !== undefined && requested < required) {
      throw new BrokerError(
        'POLICY_MISMATCH',
        `keySize ${requested} is smaller than the ${required}-bit key the DigiCert certificate profile requires.`,
        {
          remedy: `Set the key size in the Intune PKCS profile to ${required} bits or more (or leave keySize out), or lower the key size of the DigiCert certificate profile.`,
        },
      );
    }
    return requested;
  }
  if (required === undefined) return 2048;
  const fitting = SUPPORTED_KEY_SIZES.find((size) => size >= required);
  if (fitting === undefined) {
    throw new BrokerError(
      'POLICY_MISMATCH',
      `keySize: the DigiCert certificate profile requires ${required}-bit keys; the broker generates 2048, 3072 or 4096-bit keys.`,
      { remedy: 'Set the key size of the DigiCert certificate profile to 2048, 3072 or 4096 bits.' },
    );
  }
  return fitting;
}

/** The key algorithm a profile's policy asks for, as the broker reads privateKeyAttributes/algorithmOIDReference. */
export type ProfileKeyAlgorithm =
  | { kind: 'rsa' }
  | { kind: 'ec'; curve: EcCurve }
  /** One the broker cannot generate: `described` names it for the refusal. */
  | { kind: 'unsupported'; described: string };

/** rsaEncryption, RSASSA-PSS and every sha*WithRSAEncryption (PKCS #1): an RSA key, as today. */
const RSA_OID = /^1\.2\.840\.113549\.1\.1\.\d+$/;
/** id-ecPublicKey (the key reading) and ecdsa-with-SHA256 (the signature reading). */
const EC_OIDS = new Set(['1.2.840.10045.2.1', '1.2.840.10045.4.3.2']);
/** defaultNames (without an OID) that plainly name an algorithm other than RSA; of those, the ECDSA ones. */
const NOT_RSA_NAME = /ecdsa|ecc|^(?:id-)?ec(?![a-z])|^(?:id-)?ecPublicKey|ed25519|ed448|^dsa/i;
const EC_NAME = /ecdsa|ecc|^(?:id-)?ec(?![a-z])|^(?:id-)?ecPublicKey/i;
/** A name saying another curve or hash than P-256 / SHA-256. */
const OTHER_THAN_P256_NAME = /384|521|512|224|sha-?1(?!\d)/i;
/** prime256v1 itself, where a profile names the curve. */
const P256_OID = '1.2.840.10045.3.1.7';
/** OIDs the broker knows by name, so a refusal can say what the profile asks for. */
const OID_NAMES: Record<string, string> = {
  '1.2.840.10045.2.1': 'id-ecPublicKey',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384 (EC P-384)',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512 (EC P-521)',
  '1.3.132.0.34': 'EC P-384 (secp384r1)',
  '1.3.132.0.35': 'EC P-521 (secp521r1)',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.10040.4.1': 'DSA',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-SHA256',
};

function describe(oid: string | undefined, name: string | undefined): string {
  const known = oid === undefined ? undefined : OID_NAMES[oid];
  const label = name ?? known;
  if (oid === undefined) return label ?? 'an unnamed algorithm';
  return label === undefined ? oid : `${label}, ${oid}`;
}

/**
 * What privateKeyAttributes/algorithmOIDReference asks for, under either reading of it (the key algorithm or
 * the signature algorithm): id-ecPublicKey or ecdsa-with-SHA256 with keysize 256 (or none) is EC P-256; an
 * RSA OID (PKCS #1: rsaEncryption, sha256RSA, …) or no algorithm at all is RSA, as before. Without an OID, the
 * oIDs table's defaultName decides only where it plainly says ECDSA/ECC (or EdDSA, DSA); else RSA. Any other
 * OID, or EC with another size, is unsupported.
 */
export function profileKeyAlgorithm(
  policy: Pick<ProfilePolicy, 'keyAlgorithm' | 'keySize'>,
): ProfileKeyAlgorithm {
  const { oid, name } = policy.keyAlgorithm ?? {};
  const keySize = policy.keySize;
  let family: 'rsa' | 'ec' | 'p256' | undefined;
  if (oid !== undefined) {
    if (RSA_OID.test(oid)) family = 'rsa';
    else if (EC_OIDS.has(oid)) family = 'ec';
    else if (oid === P256_OID) family = 'p256';
  } else if (name === undefined || /rsa/i.test(name) || !NOT_RSA_NAME.test(name.trim())) {
    // No OID, and a name that does not plainly say EC, EdDSA or DSA: RSA, as before.
    family = 'rsa';
  } else if (EC_NAME.test(name.trim()) && !OTHER_THAN_P256_NAME.test(name)) {
    family = 'ec';
  }
  if (family === 'rsa') return { kind: 'rsa' };
  if (family === 'p256' || (family === 'ec' && (keySize === undefined || keySize === 256))) {
    return { kind: 'ec', curve: 'P-256' };
  }
  if (family === 'ec') {
    return { kind: 'unsupported', described: `EC with ${String(keySize)}-bit keys (${describe(oid, name)})` };
  }
  return { kind: 'unsupported', described: describe(oid, name) };
}

/**
 * The key of the certificate: an RSA size by chooseKeySize, or P-256 for a profile whose policy asks for EC.
 * For an EC profile the request's keySize (an RSA size: Intune sends one with every PKCS profile, and cannot
 * ask for EC) does not apply: a valid one is set aside, an invalid one is still INVALID_REQUEST. A profile
 * asking for a key the broker cannot generate is a POLICY_MISMATCH naming it.
 */
export function chooseKey(
  requested: number | undefined,
  policy: Pick<ProfilePolicy, 'profileOid' | 'keyAlgorithm' | 'keySize'>,
): KeySpec {
  const algorithm = profileKeyAlgorithm(policy);
  switch (algorithm.kind) {
    case 'rsa':
      return chooseKeySize(requested, policy.keySize);
    case 'ec':
      // An invalid size is refused as for RSA (INVALID_REQUEST); a valid one is set aside.
      if (requested !== undefined && !isSupported(requested)) chooseKeySize(requested, undefined);
      return algorithm.curve;
    case 'unsupported':
      throw new BrokerError(
        'POLICY_MISMATCH',
        `The DigiCert certificate profile ${policy.profileOid} asks for ${algorithm.described} keys; the broker generates RSA (2048, 3072 or 4096-bit) and EC P-256 keys.`,
        {
          remedy:
            'Set the key algorithm of the DigiCert certificate profile to RSA (2048, 3072 or 4096 bits) or to ECDSA P-256 (ecdsa-with-SHA256).',
        },
      );
  }
}

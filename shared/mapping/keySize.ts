import { BrokerError } from '../contract/errors';
import type { KeySize } from '../contract/types';

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

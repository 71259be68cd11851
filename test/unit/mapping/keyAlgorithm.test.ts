/**
 * How the mapping reads a profile's key algorithm (algorithmOIDReference resolved by the policy reader) under
 * both readings, the key algorithm or the signature algorithm: EC P-256, RSA as before, or a key the broker
 * cannot generate; and what planEnrollment makes of a request's keySize for an EC profile.
 */
import { planEnrollment, profileKeyAlgorithm } from '../../../shared/mapping';
import { expectBrokerError, intuneUserPolicy, requestWith } from './fixtures';

describe('profileKeyAlgorithm: both readings', () => {
  it.each([
    [{ oid: '1.2.840.10045.2.1' }, 256],
    [{ oid: '1.2.840.10045.2.1' }, undefined],
    [{ oid: '1.2.840.10045.4.3.2', name: 'sha256ECDSA' }, 256],
    [{ oid: '1.2.840.10045.4.3.2' }, undefined],
    [{ oid: '1.2.840.10045.3.1.7', name: 'prime256v1' }, undefined],
    [{ name: 'ECDSA_P256' }, 256],
    [{ name: 'ecdsa-with-SHA256' }, undefined],
  ])('%p with keysize %p is EC P-256', (keyAlgorithm, keySize) => {
    expect(profileKeyAlgorithm({ keyAlgorithm, keySize })).toEqual({ kind: 'ec', curve: 'P-256' });
  });

  it.each([
    [undefined, 2048],
    [{ oid: '1.2.840.113549.1.1.11', name: 'sha256RSA' }, 2048],
    [{ oid: '1.2.840.113549.1.1.1', name: 'RSA' }, 3072],
    [{ oid: '1.2.840.113549.1.1.10' }, 2048],
    [{ name: 'sha256RSA' }, 2048],
    [{ name: 'Contoso key algorithm' }, 2048],
  ])('%p is RSA, as before', (keyAlgorithm, keySize) => {
    expect(profileKeyAlgorithm({ ...(keyAlgorithm === undefined ? {} : { keyAlgorithm }), keySize })).toEqual(
      {
        kind: 'rsa',
      },
    );
  });

  it.each([
    [{ oid: '1.2.840.10045.4.3.3', name: 'sha384ECDSA' }, 384, /sha384ECDSA, 1\.2\.840\.10045\.4\.3\.3/],
    [{ oid: '1.2.840.10045.2.1', name: 'ECC' }, 384, /EC with 384-bit keys \(ECC, 1\.2\.840\.10045\.2\.1\)/],
    [{ oid: '1.2.840.10045.4.3.2' }, 2048, /EC with 2048-bit keys \(ecdsa-with-SHA256/],
    [{ oid: '1.3.132.0.34' }, undefined, /EC P-384 \(secp384r1\)/],
    [{ oid: '1.3.101.112' }, undefined, /Ed25519/],
    [{ oid: '1.2.3.4.5' }, 2048, /1\.2\.3\.4\.5/],
    [{ name: 'ECDSA_P384' }, 384, /ECDSA_P384/],
    [{ name: 'Ed25519' }, undefined, /Ed25519/],
  ])('%p (keysize %p) is a key the broker cannot make', (keyAlgorithm, keySize, described) => {
    const algorithm = profileKeyAlgorithm({ keyAlgorithm, keySize });
    expect(algorithm.kind).toBe('unsupported');
    expect(algorithm.kind === 'unsupported' && algorithm.described).toMatch(described);
  });
});

describe('planEnrollment and the profile key algorithm', () => {
  const request = requestWith('CN=u@contoso.com');
  /** The Intune user policy with another key algorithm and keysize (none: no keysize element). */
  const ecPolicy = (keyAlgorithm: { oid?: string; name?: string }, keySize?: number) => {
    const policy = { ...intuneUserPolicy(), keyAlgorithm };
    delete policy.keySize;
    return keySize === undefined ? policy : { ...policy, keySize };
  };

  it.each([2048, 3072, 4096, undefined])(
    'plans a P-256 key for an EC profile, the request keySize %p set aside',
    (keySize) => {
      const body = keySize === undefined ? request : { ...request, keySize: keySize as 2048 };
      expect(planEnrollment(body, ecPolicy({ oid: '1.2.840.10045.2.1' }, 256)).keySize).toBe('P-256');
      expect(planEnrollment(body, ecPolicy({ oid: '1.2.840.10045.4.3.2' })).keySize).toBe('P-256');
    },
  );

  it('still refuses a keySize no profile can take (INVALID_REQUEST, as for RSA)', () => {
    expectBrokerError(
      () => planEnrollment({ ...request, keySize: 1024 as 2048 }, ecPolicy({ oid: '1.2.840.10045.2.1' })),
      { code: 'INVALID_REQUEST', message: ['keySize', '1024'] },
    );
  });

  it('refuses a profile asking for P-384 with POLICY_MISMATCH naming the algorithm and the remedy', () => {
    expectBrokerError(
      () => planEnrollment(request, ecPolicy({ oid: '1.2.840.10045.4.3.3', name: 'sha384ECDSA' }, 384)),
      {
        code: 'POLICY_MISMATCH',
        message: ['sha384ECDSA', '1.2.840.10045.4.3.3', 'EC P-256'],
        remedy: ['ECDSA P-256', 'RSA'],
      },
    );
  });

  it('keeps the RSA path for sha256RSA and rsaEncryption profiles, size rules and all', () => {
    const rsa = (oidValue: string, keySize: number) => ecPolicy({ oid: oidValue }, keySize);
    expect(planEnrollment(request, rsa('1.2.840.113549.1.1.11', 3072)).keySize).toBe(3072);
    expect(planEnrollment({ ...request, keySize: 4096 }, rsa('1.2.840.113549.1.1.1', 2048)).keySize).toBe(
      4096,
    );
    expectBrokerError(
      () => planEnrollment({ ...request, keySize: 2048 }, rsa('1.2.840.113549.1.1.11', 3072)),
      {
        code: 'POLICY_MISMATCH',
        message: ['keySize', '2048', '3072'],
      },
    );
  });
});

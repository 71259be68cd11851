/**
 * The PFX as the broker built it before its native PKCS#12 writer (forge, pure JavaScript): kept here only as
 * the reference the PFX benchmark measures the native writer against, side by side.
 */
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { PfxInput } from '../../shared/crypto';

export function buildPfxWithForge(input: PfxInput): Buffer {
  const pkcs1 = input.privateKey.export({ type: 'pkcs1', format: 'der' });
  const privateKey = forge.pki.privateKeyFromAsn1(
    forge.asn1.fromDer(forge.util.createBuffer(pkcs1.toString('binary'))),
  );
  const certificates = [input.leafPem, ...input.chainPem].map((pem) =>
    forge.pki.certificateFromAsn1(
      forge.asn1.fromDer(forge.util.createBuffer(new X509Certificate(pem).raw.toString('binary'))),
    ),
  );
  const options: NonNullable<Parameters<typeof forge.pkcs12.toPkcs12Asn1>[3]> & { prfAlgorithm?: 'sha256' } =
    {
      algorithm: input.encryption === 'AES256' ? 'aes256' : '3des',
      useMac: true,
      generateLocalKeyId: true,
      count: 2048,
      ...(input.encryption === 'AES256' ? { prfAlgorithm: 'sha256' as const } : {}),
    };
  const pfx = forge.pkcs12.toPkcs12Asn1(privateKey, certificates, input.password, options);
  return Buffer.from(forge.asn1.toDer(pfx).getBytes(), 'binary');
}

/**
 * Reads a certificate imported into the vault the way Key Vault does, and what its secret then serves:
 * the PFX without its import password, or the PEM, and without the private key when not exportable.
 */
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/** The certificate, the secret's value and the key's type and size of an import. */
export interface ImportedCertificate {
  certificate: X509Certificate;
  secretValue: string;
  keyType: 'RSA' | 'EC';
  keySize?: number;
}

function forgeCertificateDer(cert: forge.pki.Certificate): Buffer {
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
}

/** Reads an imported PFX the way Key Vault does: opens it, finds the certificate that goes with the key. */
export function importPfx(
  input: { pfx: Buffer; password?: string },
  exportable: boolean,
): ImportedCertificate {
  const p12 = forge.pkcs12.pkcs12FromAsn1(
    forge.asn1.fromDer(input.pfx.toString('binary'), false),
    false,
    input.password,
  );
  const certs: forge.pki.Certificate[] = [];
  for (const bag of p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []) {
    if (bag.cert) certs.push(bag.cert);
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ??
      []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ];
  const key = keyBags.find((bag) => bag.key)?.key as forge.pki.rsa.PrivateKey | undefined;
  if (certs.length === 0) throw new Error('the PFX holds no certificate');
  const leaf =
    (key && certs.find((cert) => (cert.publicKey as forge.pki.rsa.PublicKey).n.compareTo(key.n) === 0)) ??
    certs[0]!;
  const others = certs.filter((cert) => cert !== leaf);
  let secretValue: string;
  if (!exportable || input.password !== undefined) {
    // Key Vault serves the PFX without its import password, and without the key when not exportable.
    const asn1 = forge.pkcs12.toPkcs12Asn1(exportable && key ? key : null, [leaf, ...others], null, {
      algorithm: '3des',
      useMac: false,
    });
    secretValue = Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary').toString('base64');
  } else {
    secretValue = input.pfx.toString('base64');
  }
  return {
    certificate: new X509Certificate(forgeCertificateDer(leaf)),
    secretValue,
    keyType: 'RSA',
    keySize: (leaf.publicKey as forge.pki.rsa.PublicKey).n.bitLength(),
  };
}

export function importPem(pem: string, exportable: boolean): ImportedCertificate {
  const certBlocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certBlocks.length === 0) throw new Error('the PEM holds no certificate');
  const keyBlock = pem.match(
    /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/,
  )?.[0];
  const certificate = new X509Certificate(certBlocks[0]!);
  const secretValue =
    exportable && keyBlock !== undefined
      ? `${keyBlock}\n${certBlocks.join('\n')}\n`
      : `${certBlocks.join('\n')}\n`;
  const publicKey = certificate.publicKey;
  return {
    certificate,
    secretValue,
    keyType: publicKey.asymmetricKeyType === 'ec' ? 'EC' : 'RSA',
    keySize: publicKey.asymmetricKeyDetails?.modulusLength,
  };
}

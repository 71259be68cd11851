/**
 * Reads the RA key material out of its containers: PKCS#12 (a PFX file, or a Key Vault secret of type
 * application/x-pkcs12) and PEM (application/x-pem-file). forge opens the PKCS#12 envelope (3DES, AES,
 * RC2 and password-less PFX alike); Node's crypto reads the keys and certificates inside, so RSA and EC both
 * work. Nothing here checks whether the material is any good: that is checks.ts.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface RaKeyMaterial {
  /** Every certificate in the container, in container order. */
  certificates: X509Certificate[];
  privateKeys: KeyObject[];
}

export type MaterialProblem =
  /** The bytes are not a PKCS#12 PFX (or a PEM with a certificate). */
  | 'not-a-container'
  /** The PFX (or encrypted PEM key) does not open with the password given. */
  | 'wrong-password'
  /** It opened, but something inside could not be read. */
  | 'unreadable-content';

/** Why the container could not be read. Messages name the problem only, never the password or key bytes. */
export class MaterialReadError extends Error {
  constructor(
    readonly problem: MaterialProblem,
    message: string,
  ) {
    super(message);
    this.name = 'MaterialReadError';
  }
}

const PASSWORD_FAILURE = /password|MAC could not be verified|decrypt/i;

function forgeMessage(error: unknown): string {
  // forge's messages are fixed texts (no input echoed), so they are safe to pass on.
  return error instanceof Error ? error.message : String(error);
}

function binary(bytes: forge.Bytes): Buffer {
  return Buffer.from(bytes, 'binary');
}

function openPkcs12(asn1: forge.asn1.Asn1, password: string | undefined): forge.pkcs12.Pkcs12Pfx {
  return forge.pkcs12.pkcs12FromAsn1(asn1, false, password as string);
}

/**
 * Opens a PKCS#12 PFX. Without a password (Key Vault serves PFX secrets password-less) both encodings of
 * "no password" are tried: absent (no BMPString at all) and empty (a lone terminator), as tools differ.
 */
export function readPkcs12(der: Buffer, password: string | undefined): RaKeyMaterial {
  let asn1: forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(der.toString('binary'), false);
  } catch (error) {
    throw new MaterialReadError('not-a-container', `not a PKCS#12 (PFX) structure: ${forgeMessage(error)}`);
  }
  const candidates = password === undefined || password === '' ? [undefined, ''] : [password];
  let p12: forge.pkcs12.Pkcs12Pfx | undefined;
  let lastError: unknown;
  for (const candidate of candidates) {
    try {
      p12 = openPkcs12(asn1, candidate);
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (p12 === undefined) {
    const reason = forgeMessage(lastError);
    if (/not an PKCS#12 PFX|Only PKCS#12 PFX/i.test(reason)) {
      throw new MaterialReadError('not-a-container', `not a PKCS#12 (PFX) structure: ${reason}`);
    }
    if (PASSWORD_FAILURE.test(reason)) {
      throw new MaterialReadError(
        'wrong-password',
        `the PFX does not open with ${password ? 'the password given' : 'an empty password'} (${reason})`,
      );
    }
    throw new MaterialReadError('unreadable-content', `the PFX could not be read: ${reason}`);
  }

  const certificates: X509Certificate[] = [];
  const privateKeys: KeyObject[] = [];
  for (const safeContents of p12.safeContents) {
    for (const bag of safeContents.safeBags) {
      try {
        if (bag.type === forge.pki.oids.certBag) {
          const der = bag.cert
            ? forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert)).getBytes()
            : bag.asn1 // forge leaves non-RSA certificates as raw ASN.1
              ? forge.asn1.toDer(bag.asn1).getBytes()
              : undefined;
          if (der !== undefined) certificates.push(new X509Certificate(binary(der)));
        } else if (bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag) {
          const pkcs8 = bag.key
            ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key as forge.pki.rsa.PrivateKey))
            : bag.asn1; // non-RSA keys: forge hands back the decrypted PrivateKeyInfo
          if (pkcs8) {
            privateKeys.push(
              createPrivateKey({
                key: binary(forge.asn1.toDer(pkcs8).getBytes()),
                format: 'der',
                type: 'pkcs8',
              }),
            );
          }
        }
      } catch (error) {
        const what = bag.type === forge.pki.oids.certBag ? 'a certificate' : 'the private key';
        throw new MaterialReadError(
          'unreadable-content',
          `${what} inside the PFX could not be read (${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'})`,
        );
      }
    }
  }
  return { certificates, privateKeys };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** Reads PEM text: CERTIFICATE blocks and one or more private keys (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8). */
export function readPem(text: string, password?: string): RaKeyMaterial {
  const certificates: X509Certificate[] = [];
  const privateKeys: KeyObject[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [block, label] = match as unknown as [string, string];
    if (label === 'CERTIFICATE') {
      try {
        certificates.push(new X509Certificate(block));
      } catch {
        throw new MaterialReadError('unreadable-content', 'a CERTIFICATE block in the PEM could not be read');
      }
    } else if (label.endsWith('PRIVATE KEY')) {
      if (label === 'ENCRYPTED PRIVATE KEY' && !password) {
        throw new MaterialReadError(
          'wrong-password',
          'the private key in the PEM is encrypted and no password was given',
        );
      }
      try {
        privateKeys.push(createPrivateKey({ key: block, format: 'pem', passphrase: password }));
      } catch {
        throw new MaterialReadError(
          label === 'ENCRYPTED PRIVATE KEY' ? 'wrong-password' : 'unreadable-content',
          label === 'ENCRYPTED PRIVATE KEY'
            ? 'the encrypted private key in the PEM does not open with the password given'
            : `the ${label} block in the PEM could not be read`,
        );
      }
    }
  }
  if (certificates.length === 0 && privateKeys.length === 0) {
    throw new MaterialReadError(
      'not-a-container',
      'no CERTIFICATE or PRIVATE KEY block found in the PEM text',
    );
  }
  return { certificates, privateKeys };
}

/** PEM text starts with "-----BEGIN"; anything else is taken for DER (PKCS#12). */
export function looksLikePem(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN');
}

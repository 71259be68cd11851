/** What the end-to-end suites ask openssl about an issued result: its password, its PFX, its key. */
import { writeFileSync } from 'node:fs';
import type { IssuedResult } from '../../shared/contract/types';
import { runTool } from './childProcess';

/** The PFX's password, decrypted by openssl with the recipient's key (RSA-OAEP-256, as the contract says). */
export function passwordByOpenssl(
  result: IssuedResult,
  recipientKeyPath: string,
  encryptedFile: string,
): string {
  writeFileSync(encryptedFile, Buffer.from(result.pfx.password.encryptedValue, 'base64'));
  return runTool('openssl', [
    'pkeyutl',
    '-decrypt',
    '-inkey',
    recipientKeyPath,
    '-in',
    encryptedFile,
    '-pkeyopt',
    'rsa_padding_mode:oaep',
    '-pkeyopt',
    'rsa_oaep_md:sha256',
    '-pkeyopt',
    'rsa_mgf1_md:sha256',
  ]);
}

/** The certificates and the private key openssl reads from a PFX (password in env PFX_PASSWORD). */
export function pfxContentsByOpenssl(
  pfxFile: string,
  env: { PFX_PASSWORD: string },
): { certificates: string; key: string } {
  const read = (...what: string[]) =>
    runTool('openssl', ['pkcs12', '-in', pfxFile, ...what, '-passin', 'env:PFX_PASSWORD'], env);
  return { certificates: read('-nokeys'), key: read('-nocerts', '-nodes') };
}

/** Whether the private key in `keyFile` belongs to the certificate in `certificateFile`, for any key type. */
export function keyMatchesCertificate(keyFile: string, certificateFile: string): boolean {
  const keyPublic = runTool('openssl', ['pkey', '-in', keyFile, '-pubout']);
  const certificatePublic = runTool('openssl', ['x509', '-in', certificateFile, '-noout', '-pubkey']);
  return keyPublic.trim() === certificatePublic.trim();
}

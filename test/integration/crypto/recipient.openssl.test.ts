import { readFileSync, writeFileSync } from 'node:fs';
import {
  createPfxPassword,
  encryptPasswordForRecipient,
  generateKeyPair,
  parseRecipientCertificate,
  summarizeCertificate,
  type Recipient,
} from '../../../shared/crypto';
import { createTestPki } from '../../unit/crypto/fixtures';
import { describeWithTools, runTool, useTempDir } from './tools';

describeWithTools(['openssl'], 'recipient certificates and RSA-OAEP-256 with openssl', () => {
  const temp = useTempDir();
  let recipient: Recipient;
  let keyFile: string;
  let certificatePem: string;

  beforeAll(() => {
    keyFile = temp.path('recipient.key');
    const certificateFile = temp.path('recipient.pem');
    const made = runTool('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certificateFile,
      '-days',
      '2',
      '-subj',
      '/C=NL/O=Contoso/CN=Intune PFX Recipient',
      '-sha256',
    ]);
    expect(made.status).toBe(0);
    certificatePem = readFileSync(certificateFile, 'utf8');
    recipient = parseRecipientCertificate(certificatePem);
  });

  it('reads an OpenSSL-made certificate: thumbprint and subject as openssl shows them', () => {
    const shown = runTool('openssl', [
      'x509',
      '-in',
      temp.path('recipient.pem'),
      '-noout',
      '-fingerprint',
      '-sha1',
    ]);
    // OpenSSL 3.0 prints "sha1 Fingerprint=", 1.1 "SHA1 Fingerprint=".
    expect(shown.stdout.trim()).toMatch(
      new RegExp(`^sha1 Fingerprint=${recipient.thumbprint.replace(/(..)(?!$)/g, '$1:')}$`, 'i'),
    );
    expect(recipient.subject).toBe('CN=Intune PFX Recipient, O=Contoso, C=NL');
    const der = runTool('openssl', [
      'x509',
      '-in',
      temp.path('recipient.pem'),
      '-outform',
      'DER',
      '-out',
      temp.path('recipient.der'),
    ]);
    expect(der.status).toBe(0);
    expect(
      parseRecipientCertificate(readFileSync(temp.path('recipient.der')).toString('base64')).thumbprint,
    ).toBe(recipient.thumbprint);
  });

  it('encrypts the password so that openssl pkeyutl opens it with OAEP SHA-256 and MGF1-SHA-256', () => {
    const password = createPfxPassword();
    const encrypted = encryptPasswordForRecipient(password, recipient);
    const cipherFile = temp.path('password.bin');
    writeFileSync(cipherFile, Buffer.from(encrypted.encryptedValue, 'base64'));
    const decrypt = (mgf1: string) =>
      runTool('openssl', [
        'pkeyutl',
        '-decrypt',
        '-inkey',
        keyFile,
        '-in',
        cipherFile,
        '-pkeyopt',
        'rsa_padding_mode:oaep',
        '-pkeyopt',
        'rsa_oaep_md:sha256',
        '-pkeyopt',
        `rsa_mgf1_md:${mgf1}`,
      ]);
    const opened = decrypt('sha256');
    expect(opened.status).toBe(0);
    expect(opened.stdout).toBe(password);
    // With MGF1-SHA-1 the same ciphertext must not open: MGF1 really is SHA-256.
    expect(decrypt('sha1').status).not.toBe(0);
  });

  it('refuses an OpenSSL-made EC certificate as RECIPIENT_INVALID', () => {
    const ecKey = temp.path('ec.key');
    const ecCert = temp.path('ec.pem');
    const made = runTool('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      ecKey,
      '-out',
      ecCert,
      '-days',
      '2',
      '-subj',
      '/CN=EC Recipient',
    ]);
    expect(made.status).toBe(0);
    expect(() => parseRecipientCertificate(readFileSync(ecCert, 'utf8'))).toThrow(
      expect.objectContaining({
        code: 'RECIPIENT_INVALID',
        message: expect.stringMatching(/EC key: an RSA key/),
      }),
    );
  });

  it('summarizes an issued certificate as openssl reads it (serial, thumbprint, dates)', async () => {
    const keys = await generateKeyPair(2048);
    const pki = createTestPki(keys.publicKey, [{ shortName: 'CN', value: 'IWUser0' }]);
    const leafFile = temp.path('leaf.pem');
    writeFileSync(leafFile, pki.leaf.certPem);
    const shown = runTool('openssl', [
      'x509',
      '-in',
      leafFile,
      '-noout',
      '-serial',
      '-fingerprint',
      '-sha1',
      '-dates',
    ]);
    const field = (name: string) => new RegExp(`^${name}=(.+)$`, 'mi').exec(shown.stdout)?.[1];
    const summary = summarizeCertificate(pki.leaf.certPem, [pki.issuing.certPem]);
    expect(summary.serialNumber).toBe(field('serial')!.replace(/^0+/, ''));
    expect(summary.thumbprint).toBe(field('SHA1 Fingerprint')!.replace(/:/g, ''));
    expect(summary.notBefore).toBe(new Date(field('notBefore')!).toISOString());
    expect(summary.notAfter).toBe(new Date(field('notAfter')!).toISOString());
  });
});

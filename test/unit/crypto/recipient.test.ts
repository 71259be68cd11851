import { X509Certificate, constants, createHash, createPublicKey, privateDecrypt } from 'node:crypto';
import { createCertificate, type TestCertificate } from '../../../dev/pki/certificates';
import { encryptPasswordForRecipient, parseRecipientCertificate } from '../../../shared/crypto';
import { createEcCertificateDer, derOfPem, expectBrokerError } from './fixtures';

describe('parseRecipientCertificate', () => {
  let recipient: TestCertificate;
  let der: Buffer;
  beforeAll(() => {
    recipient = createCertificate({
      subject: [
        { shortName: 'O', value: 'Contoso' },
        { shortName: 'CN', value: 'PFX Recipient' },
      ],
    });
    der = derOfPem(recipient.certPem);
  });

  it('reads PEM and base64 DER, with any whitespace, to the same recipient', () => {
    const thumbprint = createHash('sha1').update(der).digest('hex').toUpperCase();
    const base64 = der.toString('base64');
    const variants = [
      recipient.certPem,
      recipient.certPem.replace(/\n/g, '\r\n'),
      `Bag Attributes\n${recipient.certPem}trailing text`,
      recipient.certPem.replace(/\n/g, ' '),
      base64,
      base64.replace(/(.{64})/g, '$1\n'),
      `  ${base64.replace(/(.{10})/g, '$1 \t')}\n`,
    ];
    for (const text of variants) {
      const parsed = parseRecipientCertificate(text);
      expect(parsed.thumbprint).toBe(thumbprint);
      expect(parsed.subject).toBe('CN=PFX Recipient, O=Contoso');
      expect(parsed.notAfter.getTime()).toBe(new Date(new X509Certificate(der).validTo).getTime());
      expect(parsed.publicKey.asymmetricKeyType).toBe('rsa');
    }
  });

  it('rejects text that is not a certificate, naming recipientCertificate', async () => {
    const cases: [string, RegExp][] = [
      ['', /recipientCertificate: is empty/],
      ['hello world!', /recipientCertificate: is neither a PEM certificate nor base64/],
      [
        Buffer.from('just some bytes, not DER').toString('base64'),
        /recipientCertificate: is not an X\.509 certificate/,
      ],
      [
        der.subarray(0, der.length - 10).toString('base64'),
        /recipientCertificate: is not an X\.509 certificate/,
      ],
      [
        createPublicKey(recipient.keyPem!).export({ type: 'spki', format: 'pem' }).toString(),
        /recipientCertificate: is a PEM "PUBLIC KEY" block, not a certificate/,
      ],
    ];
    for (const [text, message] of cases)
      await expectBrokerError(() => parseRecipientCertificate(text), 'RECIPIENT_INVALID', message);
  });

  it('needs an RSA key of at least 2048 bits', async () => {
    const ec = createEcCertificateDer('EC Recipient');
    await expectBrokerError(
      () => parseRecipientCertificate(ec.der.toString('base64')),
      'RECIPIENT_INVALID',
      /recipientCertificate: has an EC key: an RSA key .* is needed/,
    );
    const small = createCertificate({ subject: [{ shortName: 'CN', value: 'Small' }], keyBits: 1024 });
    await expectBrokerError(
      () => parseRecipientCertificate(small.certPem),
      'RECIPIENT_INVALID',
      /1024-bit RSA key/,
    );
  });

  it('must be valid now', async () => {
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2021-01-01T00:00:00Z');
    const old = createCertificate({ subject: [{ shortName: 'CN', value: 'Old' }], notBefore, notAfter });
    await expectBrokerError(
      () => parseRecipientCertificate(old.certPem),
      'RECIPIENT_INVALID',
      /recipientCertificate: expired on 2021-01-01T00:00:00\.000Z/,
    );
    await expectBrokerError(
      () => parseRecipientCertificate(old.certPem, new Date('2019-12-31T23:59:59Z')),
      'RECIPIENT_INVALID',
      /recipientCertificate: is not valid before 2020-01-01T00:00:00\.000Z/,
    );
    expect(parseRecipientCertificate(old.certPem, new Date('2020-06-01T00:00:00Z')).notAfter).toEqual(
      notAfter,
    );
  });
});

describe('encryptPasswordForRecipient', () => {
  it('encrypts with RSA-OAEP SHA-256 to the recipient, tagged with its thumbprint', () => {
    const holder = createCertificate({ subject: [{ shortName: 'CN', value: 'Recipient' }] });
    const recipient = parseRecipientCertificate(holder.certPem);
    const password = 'Zm9vYmFyLXBhc3N3b3JkLXRoYXQtaXMtbG9uZw';
    const first = encryptPasswordForRecipient(password, recipient);
    const second = encryptPasswordForRecipient(password, recipient);

    expect(first.algorithm).toBe('RSA-OAEP-256');
    expect(first.recipientThumbprint).toBe(recipient.thumbprint);
    expect(first.encryptedValue).not.toBe(second.encryptedValue); // OAEP is randomized
    const ciphertext = Buffer.from(first.encryptedValue, 'base64');
    expect(ciphertext).toHaveLength(256);
    const decrypted = privateDecrypt(
      { key: holder.keyPem!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      ciphertext,
    );
    expect(decrypted.toString('utf8')).toBe(password);
    // Not SHA-1 OAEP (the Node default): that must fail.
    expect(() =>
      privateDecrypt({ key: holder.keyPem!, padding: constants.RSA_PKCS1_OAEP_PADDING }, ciphertext),
    ).toThrow();
  });
});

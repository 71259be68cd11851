import { writeFileSync } from 'node:fs';
import { createCsr, generateKeyPair, type KeyPair } from '../../../shared/crypto';
import type { EnrollmentPlan } from '../../../shared/mapping/types';
import { describeWithTools, runTool, useTempDir } from './tools';

const OBJECT_GUID_DER = Buffer.from('0410b8ba0c5d2f3e4a1b9c8d7e6f50413243', 'hex');

const plan: Pick<EnrollmentPlan, 'csrSubject' | 'csrSan'> = {
  csrSubject: [
    { shortName: 'O', value: 'Contoso B.V.' },
    { shortName: 'CN', value: 'IWUser0' },
    { shortName: 'E', value: 'IWUser0@contoso.onmicrosoft.com' },
  ],
  csrSan: [
    { kind: 'email', value: 'IWUser0@contoso.onmicrosoft.com' },
    { kind: 'upn', value: 'iwuser0@contoso.onmicrosoft.com' },
    { kind: 'otherName', oid: '1.3.6.1.4.1.311.25.1', valueDer: OBJECT_GUID_DER },
  ],
};

describeWithTools(['openssl'], 'createCsr read by openssl', () => {
  const temp = useTempDir();
  let keys: KeyPair;
  let csrFile: string;
  beforeAll(async () => {
    keys = await generateKeyPair(2048);
    csrFile = temp.path('request.der');
    writeFileSync(csrFile, createCsr(plan, keys));
  });

  it('verifies the self-signature and shows subject, e-mail, UPN and the otherName', () => {
    const result = runTool('openssl', [
      'req',
      '-inform',
      'DER',
      '-in',
      csrFile,
      '-verify',
      '-noout',
      '-text',
    ]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/self-signature verify OK/);
    expect(result.stderr).not.toMatch(/failure/);
    expect(result.stdout).toMatch(
      /Subject: O = Contoso B\.V\., CN = IWUser0, emailAddress = IWUser0@contoso\.onmicrosoft\.com/,
    );
    expect(result.stdout).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(result.stdout).toMatch(/Public-Key: \(2048 bit\)/);
    const san = /X509v3 Subject Alternative Name: *\n\s*(.+)/.exec(result.stdout)?.[1];
    expect(san).toMatch(
      /^email:IWUser0@contoso\.onmicrosoft\.com, othername: UPN::iwuser0@contoso\.onmicrosoft\.com, othername: 1\.3\.6\.1\.4\.1\.311\.25\.1:/,
    );
  });

  it('carries the otherName value bytes unchanged inside [0] EXPLICIT', () => {
    const result = runTool('openssl', ['asn1parse', '-inform', 'DER', '-in', csrFile]);
    expect(result.status).toBe(0);
    const sanHex = /Subject Alternative Name\s*\n.*OCTET STRING\s*\[HEX DUMP\]:([0-9A-F]+)/.exec(
      result.stdout,
    )?.[1];
    const expected = `06092B0601040182371901A0${OBJECT_GUID_DER.length.toString(16).padStart(2, '0')}${OBJECT_GUID_DER.toString('hex')}`;
    expect(sanHex).toContain(expected.toUpperCase());
  });

  it('fails verification when the signature is damaged (the check can fail)', () => {
    const damaged = createCsr(plan, keys);
    damaged[damaged.length - 5] ^= 0xff;
    const damagedFile = temp.path('damaged.der');
    writeFileSync(damagedFile, damaged);
    const result = runTool('openssl', ['req', '-inform', 'DER', '-in', damagedFile, '-verify', '-noout']);
    // OpenSSL 3.0 `req -verify` exits 0 either way: the verdict is only in what it prints.
    expect(result.stderr).toMatch(/verify failure/);
    expect(result.stderr).not.toMatch(/verify OK/);
  });
});

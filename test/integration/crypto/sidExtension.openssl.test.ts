/**
 * The SID extension (1.3.6.1.4.1.311.25.2) checked against OpenSSL at test time: OpenSSL builds the
 * MS-WCCE 2.2.2.7.7.4 structure from a description (ASN1_generate_nconf) and our encoder must give the same
 * bytes; and `openssl asn1parse` reads the SID back out of a CSR we build.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { createCsr, generateKeyPair } from '../../../shared/crypto';
import { sidExtensionValue } from '../../../shared/crypto/sidExtension';
import { sidReadByOpenssl } from '../../support/opensslSid';
import { describeWithTools, runTool, useTempDir } from './tools';

const SIDS = [
  // a user in a domain
  'S-1-5-21-3623811015-3361044348-30300820-1013',
  // the shortest form the contract allows, and one with the most sub-authorities (14) and 32-bit values
  'S-1-5-32',
  'S-1-5-21-4294967295-1-2-3-4-5-6-7-8-9-10-11-12-13',
];

describeWithTools(['openssl'], 'the SID extension and OpenSSL', () => {
  const temp = useTempDir();

  function opensslSidExtension(sid: string, name: string): Buffer {
    const config = temp.path(`${name}.cnf`);
    const out = temp.path(`${name}.der`);
    writeFileSync(
      config,
      [
        'asn1 = SEQUENCE:sid_extension',
        '[sid_extension]',
        'other_name = IMPLICIT:0,SEQUENCE:sid_other_name',
        '[sid_other_name]',
        'type_id = OID:1.3.6.1.4.1.311.25.2.1',
        `value = EXPLICIT:0,OCTETSTRING:${sid}`,
        '',
      ].join('\n'),
    );
    const result = runTool('openssl', ['asn1parse', '-genconf', config, '-out', out, '-noout']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return readFileSync(out);
  }

  it.each(SIDS.map((sid, index) => [sid, index]))('encodes %s as OpenSSL does', (sid, index) => {
    expect(sidExtensionValue(String(sid)).toString('hex')).toBe(
      opensslSidExtension(String(sid), `sid-${String(index)}`).toString('hex'),
    );
  });

  it('puts it in a CSR where openssl finds the extension and reads the SID back', async () => {
    const keys = await generateKeyPair(2048);
    const csrFile = temp.path('sid-request.der');
    const sid = SIDS[0]!;
    writeFileSync(
      csrFile,
      createCsr(
        {
          csrSubject: [{ shortName: 'CN', value: 'IWUser0' }],
          csrSan: [{ kind: 'upn', value: 'IWUser0@contoso.onmicrosoft.com' }],
          csrSecurityIdentifier: sid,
        },
        keys,
      ),
    );
    const text = runTool('openssl', ['req', '-inform', 'DER', '-in', csrFile, '-verify', '-noout', '-text']);
    expect(text.stderr).toMatch(/self-signature verify OK/);
    expect(text.stdout).toMatch(/Requested Extensions:[\s\S]*1\.3\.6\.1\.4\.1\.311\.25\.2:/);

    expect(sidReadByOpenssl(csrFile, 'DER')).toBe(sid);

    const withoutSid = temp.path('plain-request.der');
    writeFileSync(withoutSid, createCsr({ csrSubject: [{ shortName: 'CN', value: 'x' }], csrSan: [] }, keys));
    expect(sidReadByOpenssl(withoutSid, 'DER')).toBeUndefined();
  });
});

import { X509Certificate, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { Agent } from 'undici';
import { createCertificate } from '../../../dev/pki/certificates';
import type { DevPki } from '../../../dev/pki/devPki';
import { parseSimulatorArgs, runSimulatorCli } from '../../../dev/simulator/main';
import { ProfileFileError, loadProfilesFile } from '../../../dev/simulator/profiles';
import { startPkiWsSimulator, type Simulator } from '../../../dev/simulator/server';
import { sidReadByOpenssl } from '../../support/opensslSid';
import {
  admin as adminRequest,
  failureCode,
  DEVICE_PROFILE,
  NAME_PROFILE,
  RSA4096_PROFILE,
  SID_PROFILE,
  UNKNOWN_PROFILE,
  USER_MAIL_PROFILE,
  USER_PROFILE,
  csrBase64,
  enrollmentRequestXml,
  fault,
  guidOctetStringDer,
  healthRequestXml,
  managementRequestXml,
  policyRequestXml,
  post,
  rsaKey,
  run,
  soapBody,
  startSimulatorSession,
  textOf,
  type TestKey,
  type XmlObject,
  type SimulatorSession,
} from './simulatorClient';

let session: SimulatorSession;
let dir: string;
let pkiDir: string;
let pki: DevPki;
let simulator: Simulator;
let agent: Agent;
let key: TestKey;
let csr: string;

beforeAll(async () => {
  session = await startSimulatorSession('simulator-');
  ({ dir, pkiDir, pki, simulator, agent } = session);
  key = rsaKey(2048);
  csr = csrBase64(key);
});

afterAll(() => session?.close());

beforeEach(() => simulator.reset());

const userPairs = (overrides: Record<string, string> = {}): [string, string][] =>
  Object.entries({
    seat_id: 'iwuser0@contoso.com',
    common_name: 'IW User 0',
    mail_email: 'iwuser0@contoso.com',
    otherNameUPN: 'iwuser0@contoso.onmicrosoft.com',
    ...overrides,
  });

function pkcs7Certificates(answerXml: string): forge.pki.Certificate[] {
  const { name, value } = soapBody(answerXml);
  expect(name).toBe('RequestSecurityTokenResponse');
  const inner = value.RequestVSSecurityTokenResponse as XmlObject;
  const token = (inner.requestedVSSecurityToken as XmlObject).binarySecurityToken;
  const der = forge.util.decode64(textOf(token));
  const p7 = forge.pkcs7.messageFromAsn1(forge.asn1.fromDer(der)) as forge.pkcs7.PkcsSignedData;
  return p7.certificates;
}

function leafOf(certificates: forge.pki.Certificate[]): forge.pki.Certificate {
  const leaf = certificates.find(
    (c) => !(c.getExtension('basicConstraints') as { cA?: boolean } | undefined)?.cA,
  );
  if (leaf === undefined) throw new Error('no end-entity certificate in the PKCS#7');
  return leaf;
}

interface GeneralName {
  tag: number;
  value: string;
  typeId?: string;
  otherValueDer?: Buffer;
}

/** The SAN's GeneralNames, read from the raw extension bytes (forge does not decode otherName). */
function subjectAltNames(cert: forge.pki.Certificate): GeneralName[] {
  const extension = cert.getExtension('subjectAltName') as { value: string } | undefined;
  if (extension === undefined) return [];
  const sequence = forge.asn1.fromDer(extension.value);
  return (sequence.value as forge.asn1.Asn1[]).map((name) => {
    if (name.type !== 0) return { tag: name.type, value: name.value as string };
    const [typeId, explicit] = name.value as forge.asn1.Asn1[];
    const inner = (explicit!.value as forge.asn1.Asn1[])[0]!;
    return {
      tag: 0,
      value: '',
      typeId: forge.asn1.derToOid(typeId!.value as string),
      otherValueDer: Buffer.from(forge.asn1.toDer(inner).getBytes(), 'binary'),
    };
  });
}

/** The subject as people read it (RFC 4514: most specific first), i.e. the reverse of the DER order. */
function subjectOf(cert: forge.pki.Certificate): string[] {
  return [...cert.subject.attributes]
    .reverse()
    .map((a) => `${a.shortName ?? a.type}=${forge.util.decodeUtf8(String(a.value))}`);
}

describe('mutual TLS', () => {
  it('serves a client that presents the RA certificate, and records who it was', async () => {
    const answer = await post(simulator, agent, 'healthcheckService', healthRequestXml());
    expect(answer.status).toBe(200);
    expect(simulator.received).toHaveLength(1);
    expect(simulator.received[0]!.clientCertSubject).toBe('CN=Dev RA, O=Contoso');
  });

  it('refuses a client without a certificate at the TLS layer', async () => {
    const anonymous = new Agent({ connect: { ca: pki.tlsRootCa.certPem, timeout: 5000 } });
    try {
      await expect(post(simulator, anonymous, 'healthcheckService', healthRequestXml())).rejects.toThrow();
    } finally {
      await anonymous.close();
    }
    expect(simulator.received).toHaveLength(0);
  });

  it('refuses a client certificate from another CA, even one named like the RA', async () => {
    const rogueCa = createCertificate({ subject: [{ shortName: 'CN', value: 'Dev RA CA' }], isCa: true });
    const rogueRa = createCertificate({
      subject: [
        { shortName: 'CN', value: 'Dev RA' },
        { shortName: 'O', value: 'Contoso' },
      ],
      issuer: rogueCa,
      extKeyUsage: ['clientAuth'],
    });
    const rogue = new Agent({
      connect: { ca: pki.tlsRootCa.certPem, key: rogueRa.keyPem, cert: rogueRa.certPem, timeout: 5000 },
    });
    try {
      await expect(post(simulator, rogue, 'healthcheckService', healthRequestXml())).rejects.toThrow();
    } finally {
      await rogue.close();
    }
    expect(simulator.received).toHaveLength(0);
  });
});

describe('policyService getPolicies', () => {
  it('answers a known OID with the profile, its $variables, the SAN extension and the real CA certificates', async () => {
    const answer = await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE], 'tx-42'));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/xml/);
    const { name, value } = soapBody(answer.body);
    expect(name).toBe('getPoliciesResponse');
    expect(textOf(value.clientTransactionID)).toBe('tx-42');
    const oids = ((value.oIDs as XmlObject).oID as XmlObject[]).map((o) => [
      textOf(o.oIDReferenceID),
      textOf(o.value),
    ]);
    const oidOf = new Map(oids.map(([ref, oid]) => [ref!, oid!]));
    const policies = ((value.response as XmlObject).policies as XmlObject).policy as XmlObject[];
    expect(policies).toHaveLength(1);
    const policy = policies[0]!;
    expect(oidOf.get(textOf(policy.policyOIDReference))).toBe(USER_PROFILE);
    const attributes = policy.attributes as XmlObject;
    expect(textOf((attributes.privateKeyAttributes as XmlObject).keysize)).toBe('2048');
    expect(textOf((attributes.certificateValidity as XmlObject).validityPeriodDays)).toBe('365');
    const subject = ((attributes.subjectNameInfo as XmlObject).subjectNameAttribute as XmlObject[]).map(
      (group) =>
        (group.subjectNameAttributeNameValuePair as XmlObject[]).map((pair) => ({
          name: textOf(pair.attributeName),
          value: textOf(pair.attributeNameValue),
          mandatory: (pair.attributeNameValue as XmlObject)['@mandatory'],
        })),
    );
    expect(subject).toEqual([
      [{ name: 'cn', value: '$common_name', mandatory: 'true' }],
      [{ name: 'e', value: '$mail_email', mandatory: 'false' }],
      [{ name: 'o', value: 'Contoso Ltd', mandatory: 'true' }],
    ]);
    const extensions = (attributes.extensions as XmlObject).Extension as XmlObject[];
    const san = extensions.find((e) => oidOf.get(textOf(e.extensionOIDReference)) === '2.5.29.17')!;
    const sanPairs = ((san.extensionSyntax as XmlObject).extensionAttributeNameValuePair as XmlObject[]).map(
      (pair) => [
        textOf(pair.attributeName),
        textOf(pair.attributeNameValue),
        (pair.attributeNameValue as XmlObject)['@type'],
      ],
    );
    expect(sanPairs).toEqual([
      ['rfc822Name', '$mail_email', 'VT_IA5_STRING'],
      ['otherNameUPN', '$otherNameUPN', 'VT_UTF8_STRING'],
      ['otherName', '$otherNameGUID', '1.3.6.1.4.1.311.25.1'],
    ]);
    expect(textOf((attributes.seatIdInfo as XmlObject).attributeNameValue)).toBe('$mail_email');
    expect(textOf((attributes.systemInfo as XmlObject).certificateDeliveryFormat)).toMatch(/#PKCS7$/);
    const ca = ((value.cAs as XmlObject).cA as XmlObject[])[0]!;
    const issuing = new X509Certificate(Buffer.from(textOf(ca.certificate), 'base64'));
    const root = new X509Certificate(Buffer.from(textOf(ca.rootCACertificate), 'base64'));
    expect(issuing.fingerprint256.replace(/:/g, '')).toBe(pki.caIssuing.thumbprintSha256);
    expect(root.fingerprint256.replace(/:/g, '')).toBe(pki.caRoot.thumbprintSha256);
    expect(textOf(ca.uris)).toBe(`${simulator.url}/pki-ws/enrollmentService`);
  });

  it('groups the DigiCert default CN ($mail_firstName $mail_lastName) into one subject attribute', async () => {
    const answer = await post(simulator, agent, 'policyService', policyRequestXml([NAME_PROFILE]));
    const policy = (
      (((soapBody(answer.body).value.response as XmlObject).policies as XmlObject).policy as XmlObject[])[0]!
        .attributes as XmlObject
    ).subjectNameInfo as XmlObject;
    const cn = (policy.subjectNameAttribute as XmlObject[])[0]!;
    expect(textOf(cn.subjectNameAttributecount)).toBe('2');
    expect(
      (cn.subjectNameAttributeNameValuePair as XmlObject[]).map((p) => textOf(p.attributeNameValue)),
    ).toEqual(['$mail_firstName', '$mail_lastName']);
  });

  it('declares the SID profile its SID field as extension 1.3.6.1.4.1.311.25.2, like the sample', async () => {
    const answer = await post(simulator, agent, 'policyService', policyRequestXml([SID_PROFILE]));
    const { value } = soapBody(answer.body);
    const oids = ((value.oIDs as XmlObject).oID as XmlObject[]).map(
      (o) => [textOf(o.oIDReferenceID), textOf(o.value), textOf(o.defaultName)] as const,
    );
    const policy = (((value.response as XmlObject).policies as XmlObject).policy as XmlObject[])[0]!;
    const extensions = ((policy.attributes as XmlObject).extensions as XmlObject).Extension as XmlObject[];
    const sid = extensions.find(
      (e) => oids.find(([ref]) => ref === textOf(e.extensionOIDReference))?.[1] === '1.3.6.1.4.1.311.25.2',
    );
    expect(sid).toBeDefined();
    expect(oids.find(([, oid]) => oid === '1.3.6.1.4.1.311.25.2')?.[2]).toBe('NTDS CA Security');
    expect(textOf(sid!.extensionCriticalFlag)).toBe('false');
    const pairs = (sid!.extensionSyntax as XmlObject).extensionAttributeNameValuePair as XmlObject[];
    expect(
      pairs.map((pair) => [
        textOf(pair.attributeName),
        textOf(pair.attributeNameValue),
        (pair.attributeNameValue as XmlObject)['@type'],
        (pair.attributeNameValue as XmlObject)['@mandatory'],
      ]),
    ).toEqual([['objectSid', '$objectSid', '1.3.6.1.4.1.311.25.2.1', 'true']]);

    // The other profiles declare no SID field.
    const user = soapBody(
      (await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]))).body,
    );
    expect(JSON.stringify(user.value)).not.toContain('1.3.6.1.4.1.311.25.2');
  });

  it('answers every profile when the filter names none', async () => {
    const answer = await post(simulator, agent, 'policyService', policyRequestXml([]));
    const policies = ((soapBody(answer.body).value.response as XmlObject).policies as XmlObject)
      .policy as XmlObject[];
    expect(policies).toHaveLength(simulator.profiles.length);
    expect(simulator.profiles.length).toBeGreaterThanOrEqual(5);
  });

  it('faults an unknown OID with the seed\'s "A request element was not understood."', async () => {
    const answer = await post(
      simulator,
      agent,
      'policyService',
      policyRequestXml([USER_PROFILE, UNKNOWN_PROFILE]),
    );
    expect(answer.status).toBe(500);
    expect(fault(answer.body)).toEqual({
      faultcode: 'soapenv:Client',
      faultstring: 'A request element was not understood.',
      errorcode: '1003',
      message: `Certificate profile OID ${UNKNOWN_PROFILE} is not valid for this account.`,
    });
  });
});

describe('enrollmentService RequestSecurityToken', () => {
  const guid = randomBytes(16);
  const guidPair = guidOctetStringDer(guid).toString('base64');

  it('issues a certificate for the CSR key with the profile subject and SAN, as a PKCS#7 chain', async () => {
    const xml = enrollmentRequestXml({
      profileOid: USER_PROFILE,
      csr,
      pairs: [...userPairs(), ['otherNameGUID', guidPair], ['not_in_profile', 'ignored']],
      clientTransactionId: 'tx-enroll-7',
    });
    const answer = await post(simulator, agent, 'enrollmentService', xml);
    expect(answer.status).toBe(200);
    const inner = soapBody(answer.body).value.RequestVSSecurityTokenResponse as XmlObject;
    expect(textOf(inner.clientTransactionID)).toBe('tx-enroll-7');
    expect(textOf(inner.serverTransactionID)).toMatch(/^S-\d+-\d{4}$/);
    expect(textOf(inner.version)).toBe('2.0');
    expect(textOf(inner.dispositionMessage)).toBe('Certificate issued');

    const certificates = pkcs7Certificates(answer.body);
    expect(certificates).toHaveLength(3);
    const leaf = leafOf(certificates);
    expect(forge.pki.publicKeyToPem(leaf.publicKey)).toBe(forge.pki.publicKeyToPem(key.publicKey));
    expect(subjectOf(leaf)).toEqual(['CN=IW User 0', 'E=iwuser0@contoso.com', 'O=Contoso Ltd']);
    const names = subjectAltNames(leaf);
    expect(names.filter((n) => n.tag === 1).map((n) => n.value)).toEqual(['iwuser0@contoso.com']);
    const upn = names.find((n) => n.typeId === '1.3.6.1.4.1.311.20.2.3')!;
    expect(forge.asn1.fromDer(upn.otherValueDer!.toString('binary')).value).toBe(
      'iwuser0@contoso.onmicrosoft.com',
    );
    const objectGuid = names.find((n) => n.typeId === '1.3.6.1.4.1.311.25.1')!;
    expect(objectGuid.otherValueDer!.equals(guidOctetStringDer(guid))).toBe(true);
    expect(
      (leaf.getExtension('extKeyUsage') as { clientAuth?: boolean; emailProtection?: boolean }).clientAuth,
    ).toBe(true);
    expect((leaf.getExtension('extKeyUsage') as { emailProtection?: boolean }).emailProtection).toBe(true);
    const days = (leaf.validity.notAfter.getTime() - leaf.validity.notBefore.getTime()) / 86400_000;
    expect(days).toBe(365);

    // OpenSSL agrees: the chain verifies up to the dev root, and the SAN reads as expected.
    const leafFile = path.join(dir, 'leaf.pem');
    const issuingFile = path.join(dir, 'issuing.pem');
    writeFileSync(leafFile, forge.pki.certificateToPem(leaf));
    writeFileSync(issuingFile, pki.caIssuing.certPem);
    const verify = await run('openssl', [
      'verify',
      '-CAfile',
      pki.caRoot.certPath,
      '-untrusted',
      issuingFile,
      leafFile,
    ]);
    expect(verify.stdout).toContain(': OK');
    const text = await run('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', leafFile]);
    expect(text.stdout).toContain('email:iwuser0@contoso.com');
    expect(text.stdout).toMatch(/othername: UPN:+iwuser0@contoso\.onmicrosoft\.com/);
    expect(text.stdout).toContain('othername: 1.3.6.1.4.1.311.25.1:');

    expect(simulator.issued).toHaveLength(1);
    expect(simulator.issued[0]).toMatchObject({
      serialNumber: leaf.serialNumber.toUpperCase(),
      seatId: 'iwuser0@contoso.com',
      profileOid: USER_PROFILE,
      status: 'VALID',
      commonName: 'IW User 0',
    });
  });

  it('builds CN from mail_firstName + mail_lastName and matches variable names case-insensitively', async () => {
    const xml = enrollmentRequestXml({
      profileOid: NAME_PROFILE,
      csr,
      pairs: [
        ['MAIL_FIRSTNAME', 'Zoë-Anne'],
        ['mail_lastname', "O'Brien Jr."],
        ['Mail_Email', 'zoe@contoso.com'],
      ],
    });
    const answer = await post(simulator, agent, 'enrollmentService', xml);
    expect(answer.status).toBe(200);
    const leaf = leafOf(pkcs7Certificates(answer.body));
    expect(subjectOf(leaf)).toEqual(["CN=Zoë-Anne O'Brien Jr.", 'O=Contoso Ltd']);
    expect(simulator.issued[0]!.seatId).toBe('zoe@contoso.com');
  });

  it('fills differently named variables ($user_mail, seat $user_id) and accepts a PEM CSR', async () => {
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${csr.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    const xml = enrollmentRequestXml({
      profileOid: USER_MAIL_PROFILE,
      csr: pem,
      pairs: [
        ['common_name', 'User Mail'],
        ['user_mail', 'um@contoso.com'],
        ['user_id', 'um-upn@contoso.com'],
      ],
    });
    const answer = await post(simulator, agent, 'enrollmentService', xml);
    expect(answer.status).toBe(200);
    const leaf = leafOf(pkcs7Certificates(answer.body));
    expect(subjectOf(leaf)).toEqual(['CN=User Mail', 'E=um@contoso.com', 'O=Contoso Ltd']);
    expect(subjectAltNames(leaf).map((n) => n.value)).toEqual(['um@contoso.com']);
    expect(simulator.issued.at(-1)!.seatId).toBe('um-upn@contoso.com');
  });

  it('issues a device certificate whose only SAN is the objectGUID otherName', async () => {
    const xml = enrollmentRequestXml({
      profileOid: DEVICE_PROFILE,
      csr,
      pairs: [
        ['common_name', 'DESKTOP-0042'],
        ['otherNameGUID', guidPair],
      ],
    });
    const answer = await post(simulator, agent, 'enrollmentService', xml);
    expect(answer.status).toBe(200);
    const leaf = leafOf(pkcs7Certificates(answer.body));
    expect(subjectOf(leaf)).toEqual(['CN=DESKTOP-0042', 'OU=Devices', 'O=Contoso Ltd']);
    const names = subjectAltNames(leaf);
    expect(names).toHaveLength(1);
    expect(names[0]!.otherValueDer!.equals(guidOctetStringDer(guid))).toBe(true);
  });

  it('issues on the SID profile a certificate carrying the SID extension, and records the CSR', async () => {
    const sid = 'S-1-5-21-3623811015-3361044348-30300820-1013';
    const xml = enrollmentRequestXml({
      profileOid: SID_PROFILE,
      csr,
      pairs: [...userPairs(), ['objectSid', sid]],
    });
    const answer = await post(simulator, agent, 'enrollmentService', xml);
    expect(answer.status).toBe(200);
    const leaf = leafOf(pkcs7Certificates(answer.body));
    const leafFile = path.join(dir, 'sid-leaf.pem');
    writeFileSync(leafFile, forge.pki.certificateToPem(leaf));
    expect(sidReadByOpenssl(leafFile, 'PEM')).toBe(sid);
    expect(simulator.issued[0]?.csrDerBase64).toBe(csr);

    // Without the SID field (the user profile), the same pair is ignored like any unknown name.
    const plain = await post(
      simulator,
      agent,
      'enrollmentService',
      enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: [...userPairs(), ['objectSid', sid]] }),
    );
    const plainFile = path.join(dir, 'plain-leaf.pem');
    writeFileSync(plainFile, forge.pki.certificateToPem(leafOf(pkcs7Certificates(plain.body))));
    expect(sidReadByOpenssl(plainFile, 'PEM')).toBeUndefined();
  });

  const faultCases: [string, string, [string, string][], string, RegExp][] = [
    [
      'a missing mandatory SID',
      SID_PROFILE,
      userPairs(),
      '3001',
      /objectSid is mandatory for the SID extension/,
    ],
    [
      'a SID field value that is no SID',
      SID_PROFILE,
      [...userPairs(), ['objectSid', 'S-1-5-21-x']],
      '3006',
      /objectSid must be a security identifier/,
    ],
    [
      'a missing mandatory variable',
      USER_PROFILE,
      userPairs({ common_name: '' }),
      '3001',
      /^Policy verification failed\. The attribute common_name is mandatory/,
    ],
    [
      'a missing mandatory SAN variable',
      USER_PROFILE,
      userPairs().filter(([n]) => n !== 'otherNameUPN'),
      '3001',
      /otherNameUPN is mandatory/,
    ],
    [
      'a missing mandatory otherName',
      DEVICE_PROFILE,
      [['common_name', 'DESKTOP-1']],
      '3001',
      /otherNameGUID is mandatory/,
    ],
    [
      'an underscore in mail_firstName',
      NAME_PROFILE,
      [
        ['mail_firstName', 'global_admin'],
        ['mail_lastName', 'Contoso'],
        ['mail_email', 'global_admin@contoso.com'],
      ],
      '3002',
      /The characters _ in the value of mail_firstName are not supported in mail_firstname\/mail_lastname/,
    ],
    [
      'an otherName that is not base64 of DER',
      DEVICE_PROFILE,
      [
        ['common_name', 'DESKTOP-1'],
        ['otherNameGUID', '04 12 b8 ba 65 41'],
      ],
      '3005',
      /otherNameGUID must be the base64 encoding of a DER value/,
    ],
    [
      'a key smaller than the profile key size',
      RSA4096_PROFILE,
      userPairs(),
      '3003',
      /key size 2048 .* minimum 4096/,
    ],
  ];

  it.each(faultCases)('faults %s', async (_case, profileOid, pairs, errorcode, faultstring) => {
    const answer = await post(
      simulator,
      agent,
      'enrollmentService',
      enrollmentRequestXml({ profileOid, csr, pairs }),
    );
    expect(answer.status).toBe(500);
    const received = fault(answer.body);
    expect(received.faultcode).toBe('soapenv:Client');
    expect(received.faultstring).toMatch(faultstring);
    expect(received.errorcode).toBe(errorcode);
    expect(simulator.issued).toHaveLength(0);
  });

  it('faults an unknown profile with "A request element was not understood."', async () => {
    const answer = await post(
      simulator,
      agent,
      'enrollmentService',
      enrollmentRequestXml({ profileOid: UNKNOWN_PROFILE, csr, pairs: userPairs() }),
    );
    expect(answer.status).toBe(500);
    expect(fault(answer.body)).toMatchObject({
      faultstring: 'A request element was not understood.',
      errorcode: '1003',
    });
  });

  it('faults a CSR whose signature does not verify', async () => {
    const other = rsaKey(2048);
    const request = forge.pki.createCertificationRequest();
    request.publicKey = key.publicKey;
    request.setSubject([{ shortName: 'CN', value: 'x' }]);
    request.sign(other.privateKey, forge.md.sha256.create()); // signed with a key that is not the one inside
    const forged = forge.util.encode64(
      forge.asn1.toDer(forge.pki.certificationRequestToAsn1(request)).getBytes(),
    );
    const answer = await post(
      simulator,
      agent,
      'enrollmentService',
      enrollmentRequestXml({ profileOid: USER_PROFILE, csr: forged, pairs: userPairs() }),
    );
    expect(fault(answer.body)).toMatchObject({
      errorcode: '3004',
      faultstring: expect.stringMatching(/signature .* does not verify/),
    });
  });

  it('faults a request that breaks the wire rules: no wrapper, long transaction id, bad version', async () => {
    const bare = enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs() })
      .replace(/<wst:RequestSecurityToken[^>]*>/, '')
      .replace('</wst:RequestSecurityToken>', '');
    expect(fault((await post(simulator, agent, 'enrollmentService', bare)).body).message).toMatch(
      /does not support requestVSSecurityToken/,
    );
    const longId = enrollmentRequestXml({
      profileOid: USER_PROFILE,
      csr,
      pairs: userPairs(),
      clientTransactionId: 'x'.repeat(41),
    });
    expect(fault((await post(simulator, agent, 'enrollmentService', longId)).body).message).toMatch(
      /longer than 40/,
    );
    const badVersion = enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs() }).replace(
      '<enr:version>2.0<',
      '<enr:version>v2<',
    );
    expect(fault((await post(simulator, agent, 'enrollmentService', badVersion)).body).message).toMatch(
      /version "v2"/,
    );
  });
});

describe('transport rules', () => {
  it('answers 415 to a content type other than text/xml (SOAP 1.1)', async () => {
    const answer = await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]), {
      contentType: 'application/soap+xml; charset=utf-8',
    });
    expect(answer.status).toBe(415);
  });

  it('faults XML that is not well-formed, and refuses a DTD', async () => {
    const broken = await post(simulator, agent, 'policyService', '<soapenv:Envelope><soapenv:Body>');
    expect(fault(broken.body)).toMatchObject({ faultcode: 'soapenv:Client', errorcode: '1001' });
    const dtd = await post(
      simulator,
      agent,
      'policyService',
      `<!DOCTYPE x [<!ENTITY a "b">]>${policyRequestXml([USER_PROFILE])}`,
    );
    expect(fault(dtd.body).message).toMatch(/DOCTYPE/);
  });

  it('records each request with its service, SOAPAction and raw body', async () => {
    const xml = policyRequestXml([USER_PROFILE]);
    await post(simulator, agent, 'policyService', xml, {
      soapAction: 'http://schemas.verisign.com/pkiservices/2009/07/policy/requestPolicies',
    });
    expect(simulator.received).toEqual([
      expect.objectContaining({
        service: 'policyService',
        path: '/pki-ws/policyService',
        soapAction: '"http://schemas.verisign.com/pkiservices/2009/07/policy/requestPolicies"',
        body: xml,
        clientCertSubject: 'CN=Dev RA, O=Contoso',
      }),
    ]);
  });
});

describe('fault injection', () => {
  it('delays an answer', async () => {
    simulator.faults.enqueue({ kind: 'delay', ms: 400, service: 'healthcheckService' });
    const started = Date.now();
    const answer = await post(simulator, agent, 'healthcheckService', healthRequestXml());
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(answer.status).toBe(200);
  });

  it('answers an HTTP status with Retry-After, once', async () => {
    simulator.faults.enqueue({ kind: 'http', status: 503, retryAfter: 7 });
    const first = await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]));
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('7');
    const second = await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]));
    expect(second.status).toBe(200);
  });

  it('resets the connection (TCP RST: the client sees ECONNRESET, not an orderly close)', async () => {
    simulator.faults.enqueue({ kind: 'reset' });
    expect(await failureCode(post(simulator, agent, 'healthcheckService', healthRequestXml()))).toBe(
      'ECONNRESET',
    );
    expect((await post(simulator, agent, 'healthcheckService', healthRequestXml())).status).toBe(200);
    // Also on a connection that has already carried an answer.
    simulator.faults.enqueue({ kind: 'reset' });
    expect(await failureCode(post(simulator, agent, 'healthcheckService', healthRequestXml()))).toBe(
      'ECONNRESET',
    );
  });

  it('answers a scripted SOAP fault, only on the service it names', async () => {
    simulator.faults.enqueue({
      kind: 'soapFault',
      faultcode: 'Server',
      faultstring: 'Service temporarily unavailable',
      errorcode: '9001',
      service: 'enrollmentService',
    });
    expect((await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]))).status).toBe(
      200,
    );
    const answer = await post(
      simulator,
      agent,
      'enrollmentService',
      enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs() }),
    );
    expect(answer.status).toBe(500);
    expect(fault(answer.body)).toEqual({
      faultcode: 'soapenv:Server',
      faultstring: 'Service temporarily unavailable',
      errorcode: '9001',
      message: undefined,
    });
    expect(simulator.faults.pending).toHaveLength(0);
  });

  it('refuses a malformed fault', () => {
    expect(() => simulator.faults.enqueue({ kind: 'http', status: 42 })).toThrow(/status/);
  });
});

describe('healthcheckService getStatus', () => {
  it('reports UP, then DOWN when told', async () => {
    const up = soapBody(
      (await post(simulator, agent, 'healthcheckService', healthRequestXml(USER_PROFILE))).body,
    );
    expect(up.name).toBe('getStatusResponseMessage');
    expect(textOf(up.value.statusCode)).toBe('UP');
    simulator.setHealth('DOWN', 'maintenance window');
    const down = soapBody((await post(simulator, agent, 'healthcheckService', healthRequestXml())).body);
    expect(textOf(down.value.statusCode)).toBe('DOWN');
    expect(textOf(down.value.statusMessage)).toBe('maintenance window');
  });
});

describe('certificateManagementService', () => {
  it('revokes by serial number and finds the certificate revoked', async () => {
    const enrolled = await post(
      simulator,
      agent,
      'enrollmentService',
      enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs() }),
    );
    const serial = leafOf(pkcs7Certificates(enrolled.body)).serialNumber;
    const revoke = await post(
      simulator,
      agent,
      'certificateManagementService',
      managementRequestXml('updateCertificateStatusRequest', [
        ['version', '1.0'],
        ['revocationReason', 'KeyCompromise'],
        ['certificateSerialNumber', `00${serial.toLowerCase()}`],
        ['operationType', 'Revoke'],
      ]),
    );
    expect(revoke.status).toBe(200);
    expect(textOf(soapBody(revoke.body).value.revocationCount)).toBe('1');
    const search = await post(
      simulator,
      agent,
      'certificateManagementService',
      managementRequestXml('searchCertificateRequest', [
        ['seatId', 'iwuser0@contoso.com'],
        ['version', '1.0'],
      ]),
    );
    const info = (
      (soapBody(search.body).value.certificateList as XmlObject).certificateInformation as XmlObject[]
    )[0]!;
    expect(textOf(info.status)).toBe('REVOKED');
    expect(textOf(info.revokeReason)).toBe('KeyCompromise');
    expect(simulator.issued[0]!.status).toBe('REVOKED');

    const again = await post(
      simulator,
      agent,
      'certificateManagementService',
      managementRequestXml('updateCertificateStatusRequest', [
        ['version', '1.0'],
        ['certificateSerialNumber', 'ABCDEF'],
        ['operationType', 'Revoke'],
      ]),
    );
    expect(fault(again.body)).toMatchObject({ errorcode: '4001' });
  });
});

describe('admin endpoint /__simulator', () => {
  const admin = (method: 'GET' | 'POST', route: string, json?: unknown) =>
    adminRequest(simulator, agent, method, route, json);

  it('queues faults, lists requests and issued certificates, sets health and resets', async () => {
    expect((await admin('POST', 'faults', [{ kind: 'http', status: 502 }])).status).toBe(200);
    expect((await admin('POST', 'faults', { kind: 'nonsense' })).status).toBe(400);
    expect((await post(simulator, agent, 'healthcheckService', healthRequestXml())).status).toBe(502);
    await post(
      simulator,
      agent,
      'enrollmentService',
      enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs() }),
    );
    const received = JSON.parse((await admin('GET', 'received')).body) as { service: string }[];
    expect(received.map((r) => r.service)).toEqual(['healthcheckService', 'enrollmentService']);
    const issued = JSON.parse((await admin('GET', 'issued')).body) as { seatId: string; status: string }[];
    expect(issued).toEqual([expect.objectContaining({ seatId: 'iwuser0@contoso.com', status: 'VALID' })]);
    expect((await admin('POST', 'health', { status: 'DOWN' })).status).toBe(200);
    const down = soapBody((await post(simulator, agent, 'healthcheckService', healthRequestXml())).body);
    expect(textOf(down.value.statusCode)).toBe('DOWN');
    expect((await admin('POST', 'reset')).status).toBe(204);
    expect(simulator.received).toHaveLength(0);
    expect(simulator.issued).toHaveLength(0);
    expect(simulator.health.status).toBe('UP');
  });
});

describe('profiles from another file', () => {
  it('serves the profiles of a file given at start', async () => {
    const file = path.join(dir, 'custom-profiles.json');
    writeFileSync(
      file,
      JSON.stringify([
        {
          profileOid: '1.2.3.4.5',
          nextUpdateHours: 1,
          validityDays: 30,
          keySize: 2048,
          subjectAttributes: [{ attributeName: 'cn', value: '$common_name', mandatory: true }],
          sanAttributes: [{ attributeName: 'dNSName', value: 'fixed.contoso.com', mandatory: true }],
        },
      ]),
    );
    const custom = await startPkiWsSimulator({ pki, profilesFile: file });
    try {
      const answer = await post(
        custom,
        agent,
        'enrollmentService',
        enrollmentRequestXml({ profileOid: '1.2.3.4.5', csr, pairs: [['common_name', 'svc']] }),
      );
      const leaf = leafOf(pkcs7Certificates(answer.body));
      expect(subjectOf(leaf)).toEqual(['CN=svc']);
      expect(subjectAltNames(leaf)).toEqual([{ tag: 2, value: 'fixed.contoso.com' }]);
      const unknown = await post(custom, agent, 'policyService', policyRequestXml([USER_PROFILE]));
      expect(fault(unknown.body).errorcode).toBe('1003');
    } finally {
      await custom.close();
    }
  });

  it('refuses a bad profile file with a message naming the file and each bad entry', () => {
    const file = path.join(dir, 'bad-profiles.json');
    writeFileSync(
      file,
      JSON.stringify({
        profiles: [
          {
            profileOid: 'not-an-oid',
            nextUpdateHours: 1,
            validityDays: 30,
            keySize: 2048,
            subjectAttributes: [{ attributeName: 'title', value: '$title', mandatory: true }],
            sanAttributes: [{ attributeName: 'otherName', value: '$guid', mandatory: true }],
            deliveryFormat: 'PKCS12',
          },
        ],
      }),
    );
    expect(() => loadProfilesFile(file)).toThrow(ProfileFileError);
    expect(() => loadProfilesFile(file)).toThrow(/bad-profiles\.json are invalid/);
    expect(() => loadProfilesFile(file)).toThrow(/\/profiles\/0\/profileOid must match pattern/);
    expect(() => loadProfilesFile(file)).toThrow(
      /\/profiles\/0 must NOT have additional properties \("deliveryFormat"\)/,
    );
    // Well-formed JSON, but meaning the simulator cannot honour.
    writeFileSync(
      file,
      JSON.stringify({
        profiles: [
          {
            profileOid: '1.2.3',
            nextUpdateHours: 1,
            validityDays: 1,
            keySize: 2048,
            subjectAttributes: [{ attributeName: 'title', value: '$t', mandatory: true }],
            sanAttributes: [{ attributeName: 'otherName', value: '$guid', mandatory: true }],
          },
        ],
      }),
    );
    expect(() => loadProfilesFile(file)).toThrow(
      /attributeName "title" is not supported[\s\S]*otherName needs its type-id OID/,
    );
    writeFileSync(file, '{ not json');
    expect(() => loadProfilesFile(file)).toThrow(/is not valid JSON/);
    expect(() => loadProfilesFile(path.join(dir, 'missing.json'))).toThrow(/cannot be read/);
  });
});

describe('CLI', () => {
  it('parses its arguments and refuses unknown ones', () => {
    expect(parseSimulatorArgs(['--pki', 'x', '--port', '0', '--profiles', 'p.json'])).toEqual({
      pkiDir: 'x',
      port: 0,
      host: '127.0.0.1',
      profilesFile: 'p.json',
      quiet: false,
      searchReading: {},
    });
    expect(
      parseSimulatorArgs(['--search-start-index', '0', '--search-count', 'total', '--search-no-more-flag'])
        .searchReading,
    ).toEqual({ startIndexBase: 0, certificateCount: 'total', moreFlag: false });
    expect(() => parseSimulatorArgs(['--search-start-index', '2'])).toThrow(/takes 0 or 1/);
    expect(() => parseSimulatorArgs(['--search-count', 'all'])).toThrow(/takes page or total/);
    expect(() => parseSimulatorArgs(['--port', 'eighty'])).toThrow(/not a port/);
    expect(() => parseSimulatorArgs(['--verbose'])).toThrow(/unknown argument/);
    expect(() => parseSimulatorArgs(['--pki'])).toThrow(/needs a value/);
  });

  it('starts on the given PKI folder and prints the listening URL', async () => {
    const lines: string[] = [];
    const started = await runSimulatorCli(['--pki', pkiDir, '--port', '0', '--quiet'], (line) =>
      lines.push(line),
    );
    try {
      expect(lines[0]).toBe(
        `PKI-WS simulator listening at ${started.url}/pki-ws/ (certificateAuthority "${started.authority}")`,
      );
      expect((await post(started, agent, 'healthcheckService', healthRequestXml())).status).toBe(200);
    } finally {
      await started.close();
    }
    await expect(post(started, agent, 'healthcheckService', healthRequestXml())).rejects.toThrow();
  });
});

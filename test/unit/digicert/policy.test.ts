import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { buildGetPoliciesEnvelope, parseGetPoliciesResponse } from '../../../shared/digicert/policy';
import { parseSoapAnswer } from '../../../shared/digicert/soap';
import { childText, elementAt, parseXml } from '../../../shared/digicert/xml';
import { brokerErrorOf } from '../../support/brokerErrors';
import { digicertFixture } from '../../support/digicertFixtures';

const context: CallContext = {
  operation: 'getPolicies',
  caHost: 'ca.fabrikam.test',
  service: 'policyService',
};

function policyFrom(fixture: string, profileOid: string) {
  const answer = parseSoapAnswer(digicertFixture(fixture));
  return parseGetPoliciesResponse(answer.body, profileOid, { ...context, profileOid });
}

describe('getPolicies request', () => {
  it('asks for exactly the one profile, version 2.0, with the transaction ID', () => {
    const envelope = parseXml(buildGetPoliciesEnvelope('2.16.840.1.113733.1.16.1.2.3.1.1.61234567', 'tx-42'));
    const request = elementAt(envelope, 'Body', 'getPolicies');
    expect(request?.prefix).toBe('pol');
    expect(childText(request, 'version')).toBe('2.0');
    expect(childText(request, 'clientTransactionID')).toBe('tx-42');
    expect(childText(elementAt(request, 'requestFilter', 'policyIDs'), 'oid')).toBe(
      '2.16.840.1.113733.1.16.1.2.3.1.1.61234567',
    );
  });
});

describe('getPoliciesResponse', () => {
  it('reads a default-namespace answer, resolving OID and CA references', () => {
    const policy = policyFrom('policy-default-namespace.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.61234567');
    expect(policy).toMatchObject({
      profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.61234567',
      friendlyName: 'Fabrikam Device User',
      nextUpdateHours: 12,
      keySize: 3072,
      validityDays: 730,
      deliveryFormat: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#PKCS7',
      seatId: { value: '$otherNameUPN', mandatory: true },
    });
    expect(policy.subjectAttributes).toEqual([
      { attributeName: 'cn', value: '$common_name', mandatory: true, type: 'VT_UTF8_STRING' },
      { attributeName: 'e', value: '$mail_email', mandatory: false, type: 'VT_IA5_STRING' },
      { attributeName: 'ou', value: 'Managed Devices', mandatory: true, type: 'VT_PRINTABLE_STRING' },
    ]);
    // Only the extension whose reference resolves to 2.5.29.17 gives SAN attributes (not the EKU one).
    expect(policy.sanAttributes).toEqual([
      { attributeName: 'otherNameUPN', value: '$otherNameUPN', mandatory: true, type: 'VT_UTF8_STRING' },
      { attributeName: 'rfc822Name', value: '$mail_email', mandatory: false, type: 'VT_IA5_STRING' },
    ]);
    expect(policy.cas).toHaveLength(1);
    const [ca] = policy.cas;
    expect(ca?.issuerName).toBe('CN=Fixture Issuing CA, O=Fabrikam Test');
    expect(ca?.intermediates).toHaveLength(2);
    // Base64 broken over lines arrives compact and decodes to a DER certificate.
    expect(ca?.issuingCa).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(ca?.issuingCa ?? '', 'base64')[0]).toBe(0x30);
    expect(ca?.root).toBe(ca?.issuingCa);
  });

  it('picks the requested policy among several, with prefixes and differently cased names', () => {
    const second = policyFrom('policy-prefixed-multi.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.70000002');
    expect(second.subjectAttributes).toEqual([
      { attributeName: 'cn', value: '$common_name', mandatory: true, type: 'VT_PRINTABLE_STRING' },
    ]);
    expect(second.sanAttributes).toEqual([
      { attributeName: 'otherName', value: '$otherNameGUID', mandatory: true, type: '1.3.6.1.4.1.311.25.1' },
    ]);
    expect(second.keySize).toBe(4096);
    expect(second.validityDays).toBe(90);
    expect(second.nextUpdateHours).toBe(0);
    expect(second.seatId).toEqual({ value: '$mail_email', mandatory: false });
    expect(second.deliveryFormat).toMatch(/#X509v3$/);
    expect(second.friendlyName).toBeUndefined();
    // cAReference 8 only: the second CA, whose issuer name is nil.
    expect(second.cas).toHaveLength(1);
    expect(second.cas[0]?.issuerName).toBeUndefined();
    expect(second.cas[0]?.intermediates).toEqual([]);

    const first = policyFrom('policy-prefixed-multi.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.70000001');
    expect(first.friendlyName).toBe('Profile Seven');
    expect(first.subjectAttributes).toEqual([
      { attributeName: 'cn', value: '$mail_firstName $mail_lastName', mandatory: true },
    ]);
    expect(first.sanAttributes).toEqual([]);
    expect(first.cas[0]?.issuerName).toBe('CN=Seven');
    expect(first.seatId).toBeUndefined();
  });

  it('fills defaults when optional parts are missing or nil', () => {
    const policy = policyFrom('policy-minimal.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.80000003');
    expect(policy).toEqual({
      profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.80000003',
      nextUpdateHours: 1,
      subjectAttributes: [{ attributeName: 'cn', value: '$common_name', mandatory: false }],
      sanAttributes: [],
      cas: [],
    });
  });

  it('says PROFILE_NOT_FOUND, naming the OID and what was offered, when the answer lacks the profile', () => {
    const error = brokerErrorOf(() =>
      policyFrom('policy-prefixed-multi.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.99'),
    );
    expect(error.code).toBe('PROFILE_NOT_FOUND');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('2.16.840.1.113733.1.16.1.2.3.1.1.99');
    expect(error.message).toContain('ca.fabrikam.test');
    expect(error.message).toContain('2.16.840.1.113733.1.16.1.2.3.1.1.70000001');
  });

  it('says CA_REJECTED when the body is not a policy answer', () => {
    const answer = parseSoapAnswer(
      '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><other/></e:Body></e:Envelope>',
    );
    const error = brokerErrorOf(() => parseGetPoliciesResponse(answer.body, '1.2.3', context));
    expect(error.code).toBe('CA_REJECTED');
    expect(error.message).toMatch(/getPoliciesResponse.*other/);
  });

  it('accepts the single policy of an answer without an OID table (we asked for exactly one)', () => {
    const answer = parseSoapAnswer(
      '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><getPoliciesResponse>' +
        '<response><nextUpdateHours>3</nextUpdateHours><policies><policy><policyOIDReference>9</policyOIDReference>' +
        '<attributes><privateKeyAttributes><keysize>2048</keysize></privateKeyAttributes></attributes></policy>' +
        '</policies></response></getPoliciesResponse></e:Body></e:Envelope>',
    );
    expect(parseGetPoliciesResponse(answer.body, '1.2.3.4', context)).toMatchObject({
      profileOid: '1.2.3.4',
      nextUpdateHours: 3,
      keySize: 2048,
    });
  });

  describe('finds the subjectAltName extension even when its OID reference does not resolve', () => {
    const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61234567';
    const pair = (name: string, value: string, extra = '') =>
      `<extensionAttributeNameValuePair><attributeName>${name}</attributeName>` +
      `<attributeNameValue mandatory="true"${extra}>${value}</attributeNameValue></extensionAttributeNameValuePair>`;
    const extension = (reference: string | undefined, pairs: string, inside = '') =>
      `<Extension>${reference === undefined ? '' : `<extensionOIDReference>${reference}</extensionOIDReference>`}` +
      `${inside}<extensionCriticalFlag>false</extensionCriticalFlag><extensionSyntax>${pairs}</extensionSyntax></Extension>`;
    const sanNames = (extensions: string, oidEntries = '') => {
      const answer = parseSoapAnswer(
        `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
          `<p:getPoliciesResponse xmlns:p="urn:test"><p:response><p:policies><p:policy>` +
          `<p:policyOIDReference>1</p:policyOIDReference><p:attributes><p:extensions>${extensions}</p:extensions>` +
          `</p:attributes></p:policy></p:policies></p:response><p:oIDs>` +
          `<p:oID><p:value>${PROFILE}</p:value><p:oIDReferenceID>1</p:oIDReferenceID></p:oID>` +
          `<p:oID><p:value>2.5.29.37</p:value><p:oIDReferenceID>3</p:oIDReferenceID><p:defaultName>Enhanced Key Usage</p:defaultName></p:oID>` +
          `${oidEntries}</p:oIDs></p:getPoliciesResponse></s:Body></s:Envelope>`,
      );
      return parseGetPoliciesResponse(answer.body, PROFILE, {
        ...context,
        profileOid: PROFILE,
      }).sanAttributes.map((attribute) => attribute.attributeName);
    };

    it('by the oID entry’s defaultName when the entry has no usable value', () => {
      const entry =
        '<p:oID><p:oIDReferenceID>2</p:oIDReferenceID><p:defaultName>Subject Alternative Name</p:defaultName></p:oID>';
      expect(sanNames(extension('2', pair('email', '$seat_email')), entry)).toEqual(['email']);
      const badValue =
        '<p:oID><p:value>see defaultName</p:value><p:oIDReferenceID>2</p:oIDReferenceID><p:defaultName>subjectAltName</p:defaultName></p:oID>';
      expect(sanNames(extension('2', pair('email', '$seat_email')), badValue)).toEqual(['email']);
    });

    it('by SAN attribute names when the reference is unknown to the table or missing', () => {
      expect(
        sanNames(extension('99', pair('rfc822Name', '$mail_email') + pair('otherNameUPN', '$otherNameUPN'))),
      ).toEqual(['rfc822Name', 'otherNameUPN']);
      expect(sanNames(extension(undefined, pair('userPrincipalName', '$upn')))).toEqual([
        'userPrincipalName',
      ]);
      expect(sanNames(extension(undefined, pair('upn', 'x')))).toEqual(['upn']);
      expect(sanNames(extension(undefined, pair('dNSName', 'host.fabrikam.test')))).toEqual(['dNSName']);
      expect(
        sanNames(extension(undefined, pair('otherName', '$otherNameGUID', ' type="1.3.6.1.4.1.311.25.1"'))),
      ).toEqual(['otherName']);
      // A name of its own choosing, but the $mail_email variable.
      expect(sanNames(extension('99', pair('email_san', '$mail_email')))).toEqual(['email_san']);
      // Takes the extension's other attributes along with the SAN-like one.
      expect(sanNames(extension('99', pair('rfc822Name', '$mail_email') + pair('custom', 'Fixed')))).toEqual([
        'rfc822Name',
        'custom',
      ]);
    });

    it('by the OID written directly, or by a name on the extension', () => {
      expect(sanNames(extension('2.5.29.17', pair('mailbox', '$seat_email')))).toEqual(['mailbox']);
      expect(sanNames(extension('urn:oid:2.5.29.17', pair('mailbox', '$seat_email')))).toEqual(['mailbox']);
      expect(
        sanNames(
          extension(
            undefined,
            pair('mailbox', '$seat_email'),
            '<defaultName>Subject Alternative Name</defaultName>',
          ),
        ),
      ).toEqual(['mailbox']);
    });

    it('matches reference IDs as integers and reads pairs written straight under Extension', () => {
      const entry = '<p:oID><p:value>2.5.29.17</p:value><p:oIDReferenceID>2</p:oIDReferenceID></p:oID>';
      expect(
        sanNames(
          `<Extension><extensionOIDReference> 02 </extensionOIDReference>` +
            `<attributeNameValuePair><attributeName>mailbox</attributeName><attributeNameValue>$seat_email</attributeNameValue></attributeNameValuePair></Extension>`,
          entry,
        ),
      ).toEqual(['mailbox']);
    });

    it('leaves out extensions that are not SAN: resolved to another OID, or without SAN-like attributes', () => {
      expect(sanNames(extension('3', pair('rfc822Name', '$mail_email')))).toEqual([]);
      expect(sanNames(extension('99', pair('templateName', 'IntuneUser')))).toEqual([]);
      expect(sanNames(extension('1.3.6.1.4.1.311.20.2', pair('templateName', 'IntuneUser')))).toEqual([]);
    });
  });
});

describe('the SID field of strong certificate mapping (extension 1.3.6.1.4.1.311.25.2)', () => {
  const PROFILE = (suffix: string) => `2.16.840.1.113733.1.16.1.2.3.1.1.8100000${suffix}`;

  it.each([
    [
      'is the attribute of the extension resolving to 1.3.6.1.4.1.311.25.2, whatever its variable is called',
      '1',
      { attributeName: 'sid', value: '$user_sid', mandatory: false, type: 'OID.1.3.6.1.4.1.311.25.2.1' },
      ['rfc822Name'],
    ],
    [
      'is recognised by its type 1.3.6.1.4.1.311.25.2.1 when the extension reference resolves to nothing',
      '2',
      { attributeName: 'objectSid', value: '$objectSid', mandatory: true, type: '1.3.6.1.4.1.311.25.2.1' },
      [],
    ],
  ])('%s', (_name, suffix, sidAttribute, sanNames) => {
    const policy = policyFrom('policy-sid.xml', PROFILE(suffix));
    expect(policy.sidAttribute).toEqual(sidAttribute);
    // It is no SAN attribute: the SAN keeps only its own.
    expect(policy.sanAttributes.map((attribute) => attribute.attributeName)).toEqual(sanNames);
  });

  it('is absent from a profile with only SAN and EKU extensions', () => {
    expect(policyFrom('policy-sid.xml', PROFILE('3')).sidAttribute).toBeUndefined();
    expect(
      policyFrom('policy-default-namespace.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.61234567').sidAttribute,
    ).toBeUndefined();
  });
});

import {
  REQUEST_TYPE_ISSUE,
  TOKEN_TYPE_PKCS7,
  VALUE_TYPE_PKCS10,
  buildRequestSecurityTokenEnvelope,
  parseRequestSecurityTokenResponse,
} from '../../../shared/digicert/enrollment';
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { parseSoapAnswer } from '../../../shared/digicert/soap';
import type { EnrollmentRequest } from '../../../shared/digicert/types';
import {
  attribute,
  childElement,
  childElements,
  childText,
  elementAt,
  parseXml,
} from '../../../shared/digicert/xml';
import { brokerErrorOf } from '../../support/brokerErrors';
import { digicertFixture } from '../../support/digicertFixtures';

const context: CallContext = {
  operation: 'requestSecurityToken',
  caHost: 'ca.fabrikam.test',
  service: 'enrollmentService',
  profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.61234567',
};

const csrDer = Buffer.from('308201a53082010e020100', 'hex');
const request: EnrollmentRequest = {
  profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.61234567',
  clientTransactionId: '6b0f2c1e-5d3a-4e8b-9f70-2a1c3d4e5f60',
  csrDer,
  nameValuePairs: [
    { name: 'seat_id', value: 'megan.bowen@fabrikam.test' },
    { name: 'common_name', value: `Megan <&"'> Bowen` },
    { name: 'otherNameUPN', value: 'megan.bowen@fabrikam.test' },
  ],
};

function responseFrom(fixture: string) {
  const answer = parseSoapAnswer(digicertFixture(fixture));
  return parseRequestSecurityTokenResponse(answer.body, context);
}

describe('RequestSecurityToken request', () => {
  const envelope = parseXml(buildRequestSecurityTokenEnvelope(request, context));
  const rst = elementAt(envelope, 'Body', 'RequestSecurityToken');
  const vs = childElement(rst, 'requestVSSecurityToken');

  it('wraps requestVSSecurityToken in wst:RequestSecurityToken', () => {
    expect(rst?.prefix).toBe('wst');
    expect(rst?.children.map((child) => child.name)).toEqual(['requestVSSecurityToken']);
    expect(attribute(vs, 'preferredLanguage')).toBe('en-US');
  });

  it('carries profile, transaction, token and request type, CSR as base64 DER, version 2.0 last', () => {
    expect(vs?.children.map((child) => child.name)).toEqual([
      'certificateProfileID',
      'clientTransactionID',
      'tokenType',
      'requestType',
      'binarySecurityToken',
      'nameValuePair',
      'nameValuePair',
      'nameValuePair',
      'version',
    ]);
    expect(childText(vs, 'certificateProfileID')).toBe(request.profileOid);
    expect(childText(vs, 'clientTransactionID')).toBe(request.clientTransactionId);
    expect(childText(vs, 'tokenType')).toBe(TOKEN_TYPE_PKCS7);
    expect(childText(vs, 'requestType')).toBe(REQUEST_TYPE_ISSUE);
    const token = childElement(vs, 'binarySecurityToken');
    expect(attribute(token, 'ValueType')).toBe(VALUE_TYPE_PKCS10);
    expect(Buffer.from(childText(vs, 'binarySecurityToken') ?? '', 'base64')).toEqual(csrDer);
    expect(childText(vs, 'version')).toBe('2.0');
  });

  it('round-trips nameValuePair values holding <&"\'>', () => {
    const pairs = childElements(vs, 'nameValuePair').map((pair) => ({
      name: childText(pair, 'name'),
      value: childText(pair, 'value'),
    }));
    expect(pairs).toEqual(request.nameValuePairs);
  });

  it('refuses a transaction ID longer than 40 characters (INVALID_REQUEST)', () => {
    const error = brokerErrorOf(() =>
      buildRequestSecurityTokenEnvelope({ ...request, clientTransactionId: 'x'.repeat(41) }, context),
    );
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('clientTransactionID');
  });

  it('refuses a value XML cannot carry, naming the pair (INVALID_REQUEST)', () => {
    const error = brokerErrorOf(() =>
      buildRequestSecurityTokenEnvelope(
        { ...request, nameValuePairs: [{ name: 'mail_lastName', value: 'Bo\u0007wen' }] },
        context,
      ),
    );
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('"mail_lastName"');
    expect(error.message).toContain('U+0007');
  });
});

describe('RequestSecurityTokenResponse', () => {
  it('reads a PKCS#7 chain from requestedVSSecurityToken, base64 over several lines', () => {
    const response = responseFrom('rstr-pkcs7.xml');
    expect(response.tokenType).toBe('PKCS7');
    expect(response.serverTransactionId).toBe('FX-ENR-0001');
    expect(response.dispositionMessage).toBe('Issued');
    // A ContentInfo: SEQUENCE, then the signedData OID.
    expect(response.tokenDer.subarray(4, 15).toString('hex')).toBe('06092a864886f70d010702');
  });

  it('reads the lowercase response element, in a collection, with the certificate directly in it', () => {
    const response = responseFrom('rstr-lowercase-x509.xml');
    expect(response.tokenType).toBe('X509v3');
    expect(response.serverTransactionId).toBe('FX-ENR-0002');
    expect(response.dispositionMessage).toBeUndefined();
    expect(response.tokenDer[0]).toBe(0x30);
  });

  it('turns a pending approval into CA_REJECTED naming the reference', () => {
    const error = brokerErrorOf(() => responseFrom('rstr-pending.xml'));
    expect(error.code).toBe('CA_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/approval/);
    expect(error.message).toContain('PEND-4711');
    expect(error.caMessage).toContain('Pending administrator approval');
    expect(error.remedy).toMatch(/approval/);
  });

  it('turns an answer without a token into CA_REJECTED with the disposition as the CA message', () => {
    const error = brokerErrorOf(() => responseFrom('rstr-no-token.xml'));
    expect(error.code).toBe('CA_REJECTED');
    expect(error.caMessage).toBe('Seat quota exhausted for this account');
  });

  it('trusts the declared type when the bytes are not recognisable, and refuses broken base64', () => {
    const envelope = (token: string, type: string) =>
      parseSoapAnswer(
        `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><RequestSecurityTokenResponse>` +
          `<RequestVSSecurityTokenResponse><tokenType>${type}</tokenType><binarySecurityToken>${token}</binarySecurityToken>` +
          `</RequestVSSecurityTokenResponse></RequestSecurityTokenResponse></s:Body></s:Envelope>`,
      ).body;
    const x509 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
    expect(parseRequestSecurityTokenResponse(envelope('UExBQ0VIT0xERVI=', x509), context).tokenType).toBe(
      'X509v3',
    );
    expect(
      brokerErrorOf(() => parseRequestSecurityTokenResponse(envelope('not base64!', x509), context)).code,
    ).toBe('CA_REJECTED');
    const pkcs12 = 'http://schemas.verisign.com/pkiservices/2009/07/PKCS12';
    expect(
      brokerErrorOf(() => parseRequestSecurityTokenResponse(envelope('AAAA', pkcs12), context)).message,
    ).toMatch(/PKCS#12/);
  });

  describe('finds the token wherever the CA put it', () => {
    const X509V3 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
    // A certificate's shape as far as the sniffing goes: SEQUENCE { SEQUENCE … }.
    const certificateLike = Buffer.from('3006300402020001', 'hex');
    const csrEcho = Buffer.from('3003020100', 'hex');
    const read = (bodyXml: string) =>
      parseRequestSecurityTokenResponse(
        parseSoapAnswer(
          `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${bodyXml}</soap:Body></soap:Envelope>`,
        ).body,
        context,
      );

    it('reads a plain WS-Trust RequestedSecurityToken/wsse:BinarySecurityToken', () => {
      const response = read(
        `<wst:RequestSecurityTokenResponse xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512/"` +
          ` xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
          `<wst:TokenType>${X509V3}</wst:TokenType><wst:RequestedSecurityToken>` +
          `<wsse:BinarySecurityToken ValueType="${X509V3}">${certificateLike.toString('base64')}</wsse:BinarySecurityToken>` +
          `</wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse>`,
      );
      expect(response.tokenDer.equals(certificateLike)).toBe(true);
      expect(response.tokenType).toBe('X509v3');
    });

    it('reads a token nested deeper, in any casing, skipping an echoed PKCS#10 request', () => {
      const response = read(
        `<RequestSecurityTokenResponse><RequestVSSecurityTokenResponse><serverTransactionID>S-9</serverTransactionID>` +
          `<request><BINARYSECURITYTOKEN ValueType="${VALUE_TYPE_PKCS10}">${csrEcho.toString('base64')}</BINARYSECURITYTOKEN></request>` +
          `<issued><certificates><BinarySecurityToken>${certificateLike.toString('base64')}</BinarySecurityToken>` +
          `</certificates></issued></RequestVSSecurityTokenResponse></RequestSecurityTokenResponse>`,
      );
      expect(response.tokenDer.equals(certificateLike)).toBe(true);
      expect(response.serverTransactionId).toBe('S-9');
    });

    it('prefers the XSD place over a token elsewhere, and skips an empty one there', () => {
      const other = Buffer.from('3006300402020002', 'hex');
      const xsdPlace = read(
        `<RequestSecurityTokenResponse><RequestVSSecurityTokenResponse><extra><binarySecurityToken>${other.toString('base64')}` +
          `</binarySecurityToken></extra><requestedVSSecurityToken><binarySecurityToken>${certificateLike.toString('base64')}` +
          `</binarySecurityToken></requestedVSSecurityToken></RequestVSSecurityTokenResponse></RequestSecurityTokenResponse>`,
      );
      expect(xsdPlace.tokenDer.equals(certificateLike)).toBe(true);
      const emptyThere = read(
        `<RequestSecurityTokenResponse><RequestVSSecurityTokenResponse><requestedVSSecurityToken><binarySecurityToken/>` +
          `</requestedVSSecurityToken><more><binarySecurityToken>${other.toString('base64')}</binarySecurityToken></more>` +
          `</RequestVSSecurityTokenResponse></RequestSecurityTokenResponse>`,
      );
      expect(emptyThere.tokenDer.equals(other)).toBe(true);
    });

    it('reads a token under an unknown wrapper element', () => {
      const response = read(
        `<e:IssueResponse xmlns:e="urn:test"><e:result><e:binarySecurityToken>${certificateLike.toString('base64')}` +
          `</e:binarySecurityToken></e:result></e:IssueResponse>`,
      );
      expect(response.tokenDer.equals(certificateLike)).toBe(true);
    });

    it('says no binarySecurityToken when the only one is the echoed request', () => {
      const error = brokerErrorOf(() =>
        read(
          `<RequestSecurityTokenResponse><RequestVSSecurityTokenResponse><dispositionMessage>Rejected</dispositionMessage>` +
            `<echo><binarySecurityToken ValueType="${VALUE_TYPE_PKCS10}">${csrEcho.toString('base64')}</binarySecurityToken></echo>` +
            `</RequestVSSecurityTokenResponse></RequestSecurityTokenResponse>`,
        ),
      );
      expect(error.code).toBe('CA_REJECTED');
      expect(error.message).toMatch(/no binarySecurityToken/);
      expect(error.caMessage).toBe('Rejected');
    });

    it('finds a pending reference at any depth', () => {
      const error = brokerErrorOf(() =>
        read(
          `<RequestSecurityTokenResponse><RequestedSecurityToken><status><pendingTokenReferenceID>P-77</pendingTokenReferenceID>` +
            `</status></RequestedSecurityToken></RequestSecurityTokenResponse>`,
        ),
      );
      expect(error.message).toContain('P-77');
    });
  });
});

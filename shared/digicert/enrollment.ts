/**
 * enrollmentService: the wst:RequestSecurityToken › requestVSSecurityToken request carrying the PKCS#10 and
 * the name/value pairs, and the RequestSecurityTokenResponse read back into the issued token (PKCS#7 chain
 * or a single certificate). Reading is tolerant of both published casings and of where the token sits.
 */
import type { EnrollmentRequest, EnrollmentResponse } from './types';
import { pendingApprovalError, unexpectedAnswerError } from './faults/answerContent';
import { transactionIdError, unsendableValueError } from './faults/beforeCall';
import { CallContext } from './faults/callContext';
import { PKI_WS_NAMESPACES, soapEnvelope } from './soap';
import {
  XmlCharacterError,
  XmlElement,
  XmlNode,
  attribute,
  childElement,
  childText,
  el,
  findDescendant,
  findDescendants,
  serializeXml,
  textOf,
} from './xml';

export const ENROLLMENT_REQUEST_VERSION = '2.0';
export const PREFERRED_LANGUAGE = 'en-US';
export const TOKEN_TYPE_PKCS7 =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#PKCS7';
export const TOKEN_TYPE_X509V3 =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
export const REQUEST_TYPE_ISSUE = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue';
export const VALUE_TYPE_PKCS10 = 'http://schemas.verisign.com/pkiservices/2009/07/PKCS10';
export const MAX_CLIENT_TRANSACTION_ID_LENGTH = 40;

function requestBody(request: EnrollmentRequest): XmlNode {
  return el(
    'wst:RequestSecurityToken',
    el(
      'enr:requestVSSecurityToken',
      [
        el('enr:certificateProfileID', request.profileOid),
        el('enr:clientTransactionID', request.clientTransactionId),
        el('enr:tokenType', TOKEN_TYPE_PKCS7),
        el('enr:requestType', REQUEST_TYPE_ISSUE),
        el('enr:binarySecurityToken', request.csrDer.toString('base64'), { ValueType: VALUE_TYPE_PKCS10 }),
        ...request.nameValuePairs.map((pair) =>
          el('enr:nameValuePair', [el('enr:name', pair.name), el('enr:value', pair.value)]),
        ),
        el('enr:version', ENROLLMENT_REQUEST_VERSION),
      ],
      { preferredLanguage: PREFERRED_LANGUAGE },
    ),
    { 'xmlns:wst': PKI_WS_NAMESPACES.wsTrust, 'xmlns:enr': PKI_WS_NAMESPACES.enrollment },
  );
}

/**
 * The RequestSecurityToken envelope. Throws BrokerError INVALID_REQUEST when the transaction ID is longer
 * than the schema allows or a value holds a character XML cannot carry (naming the pair).
 */
export function buildRequestSecurityTokenEnvelope(request: EnrollmentRequest, context: CallContext): string {
  if (request.clientTransactionId.length > MAX_CLIENT_TRANSACTION_ID_LENGTH) {
    throw transactionIdError(context, request.clientTransactionId.length);
  }
  for (const pair of request.nameValuePairs) {
    for (const [field, text] of [
      [`the name of nameValuePair "${pair.name}"`, pair.name],
      [`the value of nameValuePair "${pair.name}"`, pair.value],
    ] as const) {
      try {
        serializeXml(el('check', text));
      } catch (cause) {
        if (cause instanceof XmlCharacterError) throw unsendableValueError(context, field, cause.message);
        throw cause;
      }
    }
  }
  return soapEnvelope(requestBody(request));
}

// ---------------------------------------------------------------------------------------------------------
// Reading the answer

// DER of the signedData content type 1.2.840.113549.1.7.2, which opens a PKCS#7 ContentInfo.
const SIGNED_DATA_OID = Buffer.from('06092a864886f70d010702', 'hex');

/** Which token the bytes are: a PKCS#7 ContentInfo names signedData near its start; else a certificate. */
function sniffTokenType(der: Buffer): EnrollmentResponse['tokenType'] | undefined {
  if (der.length < 4 || der[0] !== 0x30) return undefined;
  if (der.subarray(0, 24).includes(SIGNED_DATA_OID)) return 'PKCS7';
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, … }: the second tag after the outer length is 0x30.
  const lengthOctets = (der[1] ?? 0) & 0x80 ? ((der[1] ?? 0) & 0x7f) + 1 : 1;
  return der[1 + lengthOctets] === 0x30 ? 'X509v3' : undefined;
}

function declaredTokenType(uri: string | undefined): EnrollmentResponse['tokenType'] | 'PKCS12' | undefined {
  if (uri === undefined) return undefined;
  if (/PKCS12$/i.test(uri)) return 'PKCS12';
  if (/#?PKCS7$/i.test(uri)) return 'PKCS7';
  if (/#?X509(?:v3)?$/i.test(uri)) return 'X509v3';
  return undefined;
}

function decodeToken(text: string, context: CallContext): Buffer {
  // Tolerated: base64 broken into lines, or wrapped in PEM armour.
  const compact = text.replace(/-----(?:BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw unexpectedAnswerError(context, 'the binarySecurityToken is not base64');
  }
  return Buffer.from(compact, 'base64');
}

// A binarySecurityToken carrying a request (an echo of our CSR), never the issued certificate.
const REQUEST_VALUE_TYPE = /(?:PKCS10|SPKAC)$/i;

/**
 * The element holding the issued token: requestedVSSecurityToken/binarySecurityToken as the XSD has it, the
 * token directly in the response, or else the first binarySecurityToken at any depth (a plain WS-Trust
 * RequestedSecurityToken/wsse:BinarySecurityToken, or any other nesting) that is not an echoed request.
 */
function findTokenElement(
  outer: XmlElement,
  response: XmlElement,
  requested: XmlElement | undefined,
): XmlElement | undefined {
  const direct =
    childElement(requested, 'binarySecurityToken') ?? childElement(response, 'binarySecurityToken');
  if (textOf(direct) !== undefined) return direct;
  const anywhere = findDescendants(outer, 'binarySecurityToken').filter(
    (candidate) => textOf(candidate) !== undefined,
  );
  return (
    anywhere.find((candidate) => !REQUEST_VALUE_TYPE.test(attribute(candidate, 'ValueType')?.trim() ?? '')) ??
    direct
  );
}

/**
 * Reads a RequestSecurityTokenResponse (`body` is the SOAP Body). A token waiting for approval
 * (pendingTokenReferenceID) and an answer without a token become BrokerError CA_REJECTED.
 */
export function parseRequestSecurityTokenResponse(
  body: XmlElement,
  context: CallContext,
): EnrollmentResponse {
  const outer =
    childElement(body, 'RequestSecurityTokenResponse') ??
    findDescendant(body, 'RequestSecurityTokenResponse') ??
    childElement(body, 'RequestVSSecurityTokenResponse') ??
    findDescendant(body, 'RequestVSSecurityTokenResponse') ??
    // Any other wrapper: whatever the Body holds, as long as a token sits somewhere in it.
    (findDescendant(body, 'binarySecurityToken') === undefined ? undefined : body.children[0]);
  if (outer === undefined) {
    const found = body.children[0]?.name ?? 'an empty Body';
    throw unexpectedAnswerError(context, `expected RequestSecurityTokenResponse, got ${found}`);
  }
  // Both casings are published (RequestVSSecurityTokenResponse / requestVSSecurityTokenResponse); the
  // lookup is case-insensitive. Tolerated: the fields directly in the outer element.
  const response = childElement(outer, 'RequestVSSecurityTokenResponse') ?? outer;
  const requested =
    childElement(response, 'requestedVSSecurityToken') ?? childElement(outer, 'RequestedSecurityToken');
  const disposition = childText(response, 'dispositionMessage');

  const pending =
    childText(requested, 'pendingTokenReferenceID') ??
    childText(response, 'pendingTokenReferenceID') ??
    textOf(findDescendant(outer, 'pendingTokenReferenceID'));
  const tokenElement = findTokenElement(outer, response, requested);
  const tokenText = textOf(tokenElement);
  if (tokenText === undefined) {
    if (pending !== undefined) throw pendingApprovalError(context, pending, disposition);
    throw unexpectedAnswerError(
      context,
      'the answer carries no certificate (no binarySecurityToken)',
      disposition ?? 'no binarySecurityToken in the answer',
    );
  }
  const tokenDer = decodeToken(tokenText, context);
  const declared =
    declaredTokenType(childText(response, 'tokenType') ?? childText(outer, 'TokenType')) ??
    declaredTokenType(attribute(tokenElement, 'ValueType'));
  if (declared === 'PKCS12') {
    throw unexpectedAnswerError(
      context,
      'the profile delivers PKCS#12 (a key generated by the CA), which the broker does not use',
      disposition ?? 'tokenType PKCS12',
    );
  }
  // The bytes decide when they are recognisable; the declaration otherwise; we asked for PKCS#7.
  const tokenType = sniffTokenType(tokenDer) ?? declared ?? 'PKCS7';

  const result: EnrollmentResponse = { tokenDer, tokenType };
  const serverTransactionId = childText(response, 'serverTransactionID');
  if (serverTransactionId !== undefined) result.serverTransactionId = serverTransactionId;
  if (disposition !== undefined) result.dispositionMessage = disposition;
  return result;
}

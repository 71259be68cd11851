/**
 * SOAP 1.1 framing for PKI-WS: the envelope around a request body, the SOAPAction of each operation, and
 * reading an answer back into its Body and, if there is one, its Fault. What a fault means is decided in
 * faults/soapFault.ts, not here.
 */
import {
  XmlElement,
  XmlNode,
  allText,
  childElement,
  childText,
  el,
  findDescendant,
  parseXml,
  textOf,
  xmlDocument,
} from './xml';

export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

export const PKI_WS_NAMESPACES = {
  policy: 'http://schemas.verisign.com/pkiservices/2009/07/policy',
  enrollment: 'http://schemas.verisign.com/pkiservices/2009/07/enrollment',
  wsTrust: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/',
  health: 'http://schemas.pki.symantec.com/pkiservices/healthcheck',
  management: 'http://schemas.verisign.com/pkiservices/2009/07/management',
} as const;

/** The services under https://<caHost>/pki-ws/. */
export type PkiWsService =
  'policyService' | 'enrollmentService' | 'healthcheckService' | 'certificateManagementService';

/** SOAPAction values as the WSDL bindings declare them (the server most likely dispatches on the body). */
export const SOAP_ACTIONS = {
  getPolicies: `${PKI_WS_NAMESPACES.policy}/requestPolicies`,
  requestSecurityToken: `${PKI_WS_NAMESPACES.enrollment}/requestSecurityToken`,
  getStatus: `${PKI_WS_NAMESPACES.health}/getStatus`,
  updateCertificateStatus: `${PKI_WS_NAMESPACES.management}/updateCertificateStatus`,
  searchCertificate: `${PKI_WS_NAMESPACES.management}/searchCertificate`,
} as const;

/** A complete SOAP 1.1 request document with `body` as the only child of soapenv:Body. */
export function soapEnvelope(body: XmlNode): string {
  return xmlDocument(el('soapenv:Envelope', el('soapenv:Body', body), { 'xmlns:soapenv': SOAP_ENVELOPE_NS }));
}

export interface SoapFault {
  /** faultcode as sent, e.g. `soapenv:Client` (SOAP 1.2: Code/Value). */
  code: string;
  /** faultcode without its prefix: `Client`, `Server`, `Receiver`, … */
  codeLocalName: string;
  faultString: string;
  /** detail/…/message, if the detail has one. */
  detailMessage?: string;
  /** detail/…/errorcode, if the detail has one. */
  errorCode?: string;
  /** Every text in detail, for matching when the detail has an unknown shape. */
  detailText: string;
}

export interface SoapAnswer {
  body: XmlElement;
  /** The Body's first element child (the operation's response element or the Fault). */
  payload?: XmlElement;
  fault?: SoapFault;
}

export class SoapParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SoapParseError';
  }
}

function readFault(fault: XmlElement): SoapFault {
  // SOAP 1.1: faultcode/faultstring/detail. SOAP 1.2 (tolerated): Code/Value, Reason/Text, Detail.
  const code =
    childText(fault, 'faultcode') ?? textOf(findDescendant(childElement(fault, 'Code'), 'Value')) ?? '';
  const faultString =
    childText(fault, 'faultstring') ?? textOf(findDescendant(childElement(fault, 'Reason'), 'Text')) ?? '';
  const detail = childElement(fault, 'detail');
  const result: SoapFault = {
    code,
    codeLocalName: code.includes(':') ? code.slice(code.lastIndexOf(':') + 1) : code,
    faultString,
    detailText: allText(detail),
  };
  const detailMessage =
    textOf(findDescendant(detail, 'message')) ??
    textOf(findDescendant(detail, 'errorMessage')) ??
    textOf(findDescendant(detail, 'description'));
  if (detailMessage !== undefined) result.detailMessage = detailMessage;
  const errorCode =
    textOf(findDescendant(detail, 'errorcode')) ?? textOf(findDescendant(detail, 'errorCode'));
  if (errorCode !== undefined) result.errorCode = errorCode;
  return result;
}

/** Reads a SOAP answer; throws SoapParseError when it is not XML or not a SOAP envelope with a Body. */
export function parseSoapAnswer(xml: string): SoapAnswer {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    throw new SoapParseError(error instanceof Error ? error.message : String(error));
  }
  if (root.name.toLowerCase() !== 'envelope') {
    throw new SoapParseError(`the document is a <${root.name}>, not a SOAP Envelope`);
  }
  const body = childElement(root, 'Body');
  if (body === undefined) throw new SoapParseError('the SOAP Envelope has no Body');
  const payload = body.children[0];
  const answer: SoapAnswer = { body };
  if (payload !== undefined) answer.payload = payload;
  const fault = childElement(body, 'Fault');
  if (fault !== undefined) answer.fault = readFault(fault);
  return answer;
}

/**
 * The CA's own answer to a SOAP request, one function per PKI-WS service; the side effects (issuing,
 * changing a status) happen here, on the simulator's state. Faults that wrap the answer are in pkiWsRoute.ts.
 */
import type { ServerResponse } from 'node:http';
import { decideEnrollment, readEnrollmentRequest, requestSecurityTokenResponse } from './enrollment';
import { getStatusResponse } from './healthcheck';
import { sendText, sendXml } from './httpIo';
import type { WrongCertificate } from './faultModel';
import { issueCertificate, type SubjectEntry } from './issuer';
import { managementOperation, searchCertificate, updateCertificateStatus } from './management';
import { getPoliciesResponse, readPolicyRequest, selectProfiles } from './policy';
import type { SimulatorService } from './services';
import {
  ERROR_CODES,
  faultEnvelope,
  notUnderstoodFault,
  SimulatorFault,
  unsupportedOperationFault,
} from './soapFault';
import type { SimulatorState } from './state';
import { wrongIssue } from './wrongCertificates';
import {
  childElement,
  childText,
  parseXml,
  soapBodyElement,
  soapEnvelope,
  XmlReadError,
  type ParsedElement,
  type XmlElement,
} from './xml';

const VERSION_PATTERN = /^\d{1,3}\.\d{0,3}$/;

/** An answer to send: SOAP XML, or plain text with headers; `operation` names the SOAP body element. */
export interface Answer {
  status: number;
  xml?: string;
  text?: string;
  headers?: Record<string, string>;
  operation: string;
}

export function sendAnswer(response: ServerResponse, answer: Answer): void {
  if (answer.xml !== undefined) sendXml(response, answer.status, answer.xml);
  else sendText(response, answer.status, answer.text ?? '', answer.headers);
}

function subjectText(entries: SubjectEntry[]): string {
  return entries
    .map((entry) => `${entry.rdn === 'emailAddress' ? 'E' : entry.rdn}=${entry.value}`)
    .join(', ');
}

/** Faults on the elements every PKI-WS request shares: version pattern, transaction id length. */
function checkCommonElements(element: ParsedElement): { version: string; clientTransactionId?: string } {
  const version = childText(element, 'version');
  if (version === undefined || !VERSION_PATTERN.test(version)) {
    throw notUnderstoodFault(
      `version "${version ?? ''}" is missing or does not match \\d{1,3}\\.\\d{0,3}.`,
      ERROR_CODES.malformedRequest,
    );
  }
  const clientTransactionId = childText(element, 'clientTransactionID');
  if (clientTransactionId !== undefined && clientTransactionId.length > 40) {
    throw notUnderstoodFault(
      'clientTransactionID is longer than 40 characters.',
      ERROR_CODES.malformedRequest,
    );
  }
  return { version, clientTransactionId };
}

function policyAnswer(state: SimulatorState, body: ParsedElement, serverTransactionId: string): XmlElement {
  if (body.name.toLowerCase() !== 'getpolicies') throw unsupportedOperationFault('policy', body.name);
  checkCommonElements(body);
  const request = readPolicyRequest(body);
  return getPoliciesResponse(
    request,
    selectProfiles(state.profiles, request.oids),
    state.policyCa,
    serverTransactionId,
  );
}

/** Issues the certificate and records it as VALID. */
function enrollmentAnswer(
  state: SimulatorState,
  body: ParsedElement,
  serverTransactionId: string,
  wrongCertificate?: WrongCertificate,
): XmlElement {
  const request = readEnrollmentRequest(body);
  // readEnrollmentRequest has made sure the element is there.
  const common = checkCommonElements(childElement(body, 'requestVSSecurityToken')!);
  const profile = state.profiles.find((candidate) => candidate.profileOid === request.profileOid);
  if (profile === undefined) {
    throw notUnderstoodFault(`Certificate profile OID ${request.profileOid} is not valid for this account.`);
  }
  const decision = decideEnrollment(request, profile);
  const { issue, authority } =
    wrongCertificate === undefined
      ? { issue: decision.issue, authority: state.issuingAuthority }
      : wrongIssue(wrongCertificate, decision.issue, state.issuingAuthority);
  const chain = issueCertificate(issue, authority);
  state.issued.push({
    serialNumber: chain.serialNumber,
    profileOid: profile.profileOid,
    seatId: decision.seatId,
    commonName: decision.commonName,
    emailAddress: decision.emailAddress,
    subject: subjectText(issue.subject),
    status: 'VALID',
    notBefore: chain.notBefore,
    notAfter: chain.notAfter,
    certificatePem: chain.leafPem,
    certificateDerBase64: chain.leafDer.toString('base64'),
    csrDerBase64: decision.csrDer.toString('base64'),
    nameValuePairs: request.nameValuePairs,
    clientTransactionId: common.clientTransactionId,
    serverTransactionId,
    issuedAt: new Date(),
  });
  return requestSecurityTokenResponse({
    clientTransactionId: common.clientTransactionId,
    serverTransactionId,
    version: common.version,
    pkcs7Der: chain.pkcs7Der,
  });
}

function healthcheckAnswer(
  state: SimulatorState,
  body: ParsedElement,
  serverTransactionId: string,
): XmlElement {
  checkCommonElements(body);
  return getStatusResponse(body, state.profiles, state.health, serverTransactionId);
}

/** Changes a certificate's status, or pages through the issued certificates. */
function managementAnswer(
  state: SimulatorState,
  body: ParsedElement,
  serverTransactionId: string,
): XmlElement {
  const operation = managementOperation(body);
  checkCommonElements(body);
  return operation === 'update'
    ? updateCertificateStatus(body, state.issued, serverTransactionId)
    : searchCertificate(body, state.issued, serverTransactionId, state.searchReading);
}

const SERVICE_ANSWERS: Record<
  SimulatorService,
  (
    state: SimulatorState,
    body: ParsedElement,
    serverTransactionId: string,
    wrongCertificate?: WrongCertificate,
  ) => XmlElement
> = {
  policyService: policyAnswer,
  enrollmentService: enrollmentAnswer,
  healthcheckService: healthcheckAnswer,
  certificateManagementService: managementAnswer,
};

/** The CA's answer to a SOAP request: the service's response, or a SOAP fault (HTTP 500). */
export function soapAnswer(
  state: SimulatorState,
  service: SimulatorService,
  contentType: string | undefined,
  body: string,
  log: ((line: string) => void) | undefined,
  /** The wrongCertificate fault planned for this request, if any. */
  wrongCertificate?: WrongCertificate,
): Answer {
  if (contentType === undefined || !/^text\/xml\b/i.test(contentType)) {
    return {
      status: 415,
      text: `SOAP 1.1 takes Content-Type text/xml, not ${contentType ?? '(none)'}`,
      operation: '',
    };
  }
  let operation = '';
  try {
    const bodyElement = soapBodyElement(parseXml(body));
    operation = bodyElement.name;
    const answer = SERVICE_ANSWERS[service](
      state,
      bodyElement,
      state.nextServerTransactionId(),
      wrongCertificate,
    );
    return { status: 200, xml: soapEnvelope(answer), operation };
  } catch (error) {
    let xml: string;
    if (error instanceof SimulatorFault) {
      xml = faultEnvelope(error);
    } else if (error instanceof XmlReadError) {
      xml = faultEnvelope(
        notUnderstoodFault(
          `The request is not a usable SOAP 1.1 message: ${error.message}.`,
          ERROR_CODES.malformedRequest,
        ),
      );
    } else {
      log?.(`simulator: internal error in ${service}: ${(error as Error).message}`);
      xml = faultEnvelope({
        faultcode: 'Server',
        faultstring: 'Internal error in the PKI-WS simulator.',
        errorcode: ERROR_CODES.internal,
      });
    }
    return { status: 500, xml, operation };
  }
}

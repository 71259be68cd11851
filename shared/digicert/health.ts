/** healthcheckService: getStatusRequestMessage (operationType ENROLL, optional profile) and its UP/DOWN answer. */
import type { HealthStatus } from './types';
import { unexpectedAnswerError } from './faults/answerContent';
import { CallContext } from './faults/callContext';
import { PKI_WS_NAMESPACES, soapEnvelope } from './soap';
import { XmlElement, childElement, childText, el, findDescendant } from './xml';

export const HEALTH_REQUEST_VERSION = '1.0';

export function buildGetStatusEnvelope(clientTransactionId: string, profileOid?: string): string {
  return soapEnvelope(
    el(
      'hc:getStatusRequestMessage',
      [
        el('hc:version', HEALTH_REQUEST_VERSION),
        el('hc:clientTransactionID', clientTransactionId),
        el('hc:operationType', 'ENROLL'),
        profileOid !== undefined && el('hc:profileOid', profileOid),
      ],
      { 'xmlns:hc': PKI_WS_NAMESPACES.health },
    ),
  );
}

/** Reads getStatusResponseMessage (`body` is the SOAP Body): UP → up, DOWN → not up. */
export function parseGetStatusResponse(body: XmlElement, context: CallContext): HealthStatus {
  const response =
    childElement(body, 'getStatusResponseMessage') ??
    findDescendant(body, 'getStatusResponseMessage') ??
    body.children[0];
  const statusCode = childText(response, 'statusCode')?.toUpperCase();
  const message = childText(response, 'statusMessage') ?? '';
  if (statusCode === 'UP') return { up: true, message };
  if (statusCode === 'DOWN') return { up: false, message };
  const found =
    response === undefined ? 'an empty Body' : `${response.name} with statusCode ${statusCode ?? '(none)'}`;
  throw unexpectedAnswerError(
    context,
    `expected getStatusResponseMessage with statusCode UP or DOWN, got ${found}`,
  );
}

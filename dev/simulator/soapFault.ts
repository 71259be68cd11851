/**
 * SOAP 1.1 faults as the simulator sends them: faultcode/faultstring plus a `detail` with `errorcode` and
 * `message` — the layout the one public client that decodes DigiCert faults reads (pki-ws-protocol.md §2).
 * The error codes are our own model; the real list is not public.
 */
import { el, leaf, soapEnvelope, SOAP_ENVELOPE_NS } from './xml';

export const FAULT_STRINGS = {
  /** The seed's "A request element was not understood" (unknown profile OID, unusable request element). */
  notUnderstood: 'A request element was not understood.',
} as const;

export const ERROR_CODES = {
  malformedRequest: '1001',
  unsupportedOperation: '1002',
  profileNotValid: '1003',
  mandatoryAttributeMissing: '3001',
  unsupportedCharacters: '3002',
  keySizeTooSmall: '3003',
  csrInvalid: '3004',
  otherNameInvalid: '3005',
  securityIdentifierInvalid: '3006',
  certificateNotFound: '4001',
  certificateStatusConflict: '4002',
  internal: '5000',
} as const;

export class SimulatorFault extends Error {
  constructor(
    readonly faultcode: 'Client' | 'Server' | string,
    readonly faultstring: string,
    readonly errorcode?: string,
    readonly detailMessage?: string,
  ) {
    super(faultstring);
    this.name = 'SimulatorFault';
  }
}

/** A Client fault: the request is wrong. */
export function clientFault(faultstring: string, errorcode: string, detailMessage?: string): SimulatorFault {
  return new SimulatorFault('Client', faultstring, errorcode, detailMessage);
}

/** The fault for a request element the CA does not understand (profile OID unknown, element missing). */
export function notUnderstoodFault(
  detailMessage: string,
  errorcode: string = ERROR_CODES.profileNotValid,
): SimulatorFault {
  return clientFault(FAULT_STRINGS.notUnderstood, errorcode, detailMessage);
}

/** The fault for an operation (a SOAP body element) that `service` does not offer. */
export function unsupportedOperationFault(service: string, operation: string): SimulatorFault {
  return notUnderstoodFault(
    `The ${service} service does not support ${operation}.`,
    ERROR_CODES.unsupportedOperation,
  );
}

/** The whole envelope of a fault; the code (`Client`, `Server`, …) is written with the soapenv prefix. */
export function faultEnvelope(fault: {
  faultcode: string;
  faultstring: string;
  errorcode?: string;
  detailMessage?: string;
}): string {
  // Only the soapenv prefix is declared in the answer, so any given prefix (soap:, s:, …) is replaced by it.
  const faultcode = `soapenv:${fault.faultcode.replace(/^[^:]*:/, '')}`;
  const hasDetail = fault.errorcode !== undefined || fault.detailMessage !== undefined;
  return soapEnvelope(
    // The prefix is declared again on Fault so the element stands alone when cut out of the envelope.
    el(
      'soapenv:Fault',
      { 'xmlns:soapenv': SOAP_ENVELOPE_NS },
      leaf('faultcode', faultcode),
      leaf('faultstring', fault.faultstring),
      hasDetail &&
        el(
          'detail',
          null,
          fault.errorcode !== undefined && leaf('errorcode', fault.errorcode),
          fault.detailMessage !== undefined && leaf('message', fault.detailMessage),
        ),
    ),
  );
}

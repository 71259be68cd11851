/** healthcheckService: `getStatusRequestMessage` → `getStatusResponseMessage` (HealthcheckService.xsd). */
import type { SimulatorProfile } from './profiles';
import { ERROR_CODES, notUnderstoodFault, unsupportedOperationFault } from './soapFault';
import { childText, el, leaf, sameName, type ParsedElement, type XmlElement } from './xml';

export const HEALTHCHECK_NS = 'http://schemas.pki.symantec.com/pkiservices/healthcheck';

export interface HealthState {
  status: 'UP' | 'DOWN';
  message: string;
}

export function getStatusResponse(
  body: ParsedElement,
  profiles: SimulatorProfile[],
  health: HealthState,
  serverTransactionId: string,
): XmlElement {
  if (!sameName(body.name, 'getStatusRequestMessage')) {
    throw unsupportedOperationFault('healthcheck', body.name);
  }
  const operation = childText(body, 'operationType');
  if (operation !== 'ENROLL') {
    throw notUnderstoodFault(
      `operationType "${operation ?? ''}" is not ENROLL.`,
      ERROR_CODES.malformedRequest,
    );
  }
  const profileOid = childText(body, 'profileOid');
  if (profileOid !== undefined && !profiles.some((profile) => profile.profileOid === profileOid)) {
    throw notUnderstoodFault(`Certificate profile OID ${profileOid} is not valid for this account.`);
  }
  const clientTransactionId = childText(body, 'clientTransactionID');
  return el(
    'getStatusResponseMessage',
    { xmlns: HEALTHCHECK_NS },
    leaf('version', childText(body, 'version') ?? '1.0'),
    clientTransactionId !== undefined && leaf('clientTransactionID', clientTransactionId),
    leaf('serverTransactionID', serverTransactionId),
    leaf('statusCode', health.status),
    leaf('statusMessage', health.message),
  );
}

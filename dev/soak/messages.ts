/** The soak's messages: the requests it sends and what it reads from the results. */
import { SOAK_PROFILE_OID } from './settings';

export function soakRequest(
  index: number,
  requestId: string,
  authority: string,
  recipientPem: string,
): Record<string, unknown> {
  const email = `soak-${index}@contoso.com`;
  return {
    schemaVersion: 1,
    requestId,
    certificateAuthority: authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: SOAK_PROFILE_OID,
    subjectName: `CN=Soak User ${index},E=${email}`,
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: email },
      { type: 'AltNameTypeUpn', value: email },
    ],
    keySize: 2048,
    recipientCertificate: recipientPem,
    context: { soakIndex: index },
  };
}

export function readAnswer(text: string): {
  requestId: unknown;
  status: string;
  serial?: string;
  errorCode?: string;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { requestId: undefined, status: 'unreadable' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { requestId: undefined, status: 'unreadable' };
  const record = parsed as Record<string, unknown>;
  const certificate = record.certificate as Record<string, unknown> | undefined;
  const error = record.error as Record<string, unknown> | undefined;
  return {
    requestId: record.requestId,
    status: typeof record.status === 'string' ? record.status : 'unreadable',
    serial: typeof certificate?.serialNumber === 'string' ? certificate.serialNumber : undefined,
    errorCode: typeof error?.code === 'string' ? error.code : undefined,
  };
}

export function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

export function readPublishedPem(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { certificate?: { pem?: unknown } };
    return typeof parsed.certificate?.pem === 'string' ? parsed.certificate.pem : undefined;
  } catch {
    return undefined;
  }
}

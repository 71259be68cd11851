/**
 * The rows of the troubleshooting table in Microsoft's DigiCert article (the seed), as the doctor names them
 * when a check fails: the row's Dutch title as the article writes it, and its gist in English. Rows about the
 * connector's own Windows service and UI (sign-in, the NDES connector certificate, a deleted certificate)
 * have no counterpart in the broker and are left out.
 */
import { BrokerError, type ErrorCode } from '../contract/errors';
import { isRaCertificateRejection } from '../digicert/faults/raRejection';

export type TroubleshootingRowId =
  | 'policy-timeout'
  | 'client-certificate'
  | 'secure-channel'
  | 'request-element-not-understood'
  | 'policy-verification'
  | 'some-devices-no-certificates'
  | 'issuepfx-exception';

export interface TroubleshootingRow {
  id: TroubleshootingRowId;
  /** The problem/error message column of the row, as the seed writes it. */
  dutch: string;
  /** What it says, in English. */
  english: string;
  /** The numbered scenarios of the row, where it has them (the SSL/TLS channel row has three). */
  cases?: Readonly<Record<number, string>>;
}

export const TROUBLESHOOTING_ROWS: Readonly<Record<TroubleshootingRowId, TroubleshootingRow>> = {
  'policy-timeout': {
    id: 'policy-timeout',
    dutch:
      "DigiCert-provider: Ophalen van DigiCert-beleid is mislukt. 'Er is een time-out opgetreden voor de bewerking.'",
    english: 'getting the DigiCert policy failed: the operation timed out',
  },
  'client-certificate': {
    id: 'client-certificate',
    dutch: 'DigiCert-provider: Kan clientcertificaat niet ophalen.',
    english: 'cannot get the client certificate',
  },
  'secure-channel': {
    id: 'secure-channel',
    dutch:
      "DigiCert-provider: Ophalen van DigiCert-beleid is mislukt. 'De aanvraag is afgebroken: Kan geen beveiligd SSL/TLS-kanaal maken.'",
    english: 'getting the DigiCert policy failed: could not create a secure SSL/TLS channel',
    cases: {
      1: 'no permission to read the RA certificate with its private key',
      2: 'the CA FQDN is not the right one for the subscription',
      3: 'the broker cannot authenticate to the CA with the RA certificate',
    },
  },
  'request-element-not-understood': {
    id: 'request-element-not-understood',
    dutch:
      "DigiCert-provider: Ophalen van DigiCert-beleid is mislukt. 'Een aanvraagelement is niet begrepen.'",
    english: 'getting the DigiCert policy failed: a request element was not understood (unknown profile OID)',
  },
  'policy-verification': {
    id: 'policy-verification',
    dutch:
      'DigiCert-provider: Verificatie van beleid is mislukt. Het kenmerk staat niet op de lijst met in DigiCert ondersteunde kenmerken voor certificaatsjablonen.',
    english:
      'policy verification failed: an attribute of the DigiCert profile is not one the Intune profile supplies',
  },
  'some-devices-no-certificates': {
    id: 'some-devices-no-certificates',
    dutch: 'Sommige gebruikersapparaten ontvangen geen PKCS-certificaten van de DigiCert-CA.',
    english: 'some user devices get no PKCS certificates (special characters such as _ in first/last name)',
  },
  'issuepfx-exception': {
    id: 'issuepfx-exception',
    dutch:
      'NDES Connector: IssuePfx - Algemene uitzondering: System.NullReferenceException: Objectverwijzing niet ingesteld op een exemplaar van een object.',
    english: 'IssuePfx general exception: a transient error (the connector is restarted)',
  },
};

/** A row, and for the SSL/TLS channel row which of its scenarios. */
export interface TroubleshootingRowRef {
  id: TroubleshootingRowId;
  case?: number;
}

/** `Dutch title (English gist[; case n: scenario])`, the way every report names a row. */
export function formatTroubleshootingRow(ref: TroubleshootingRowRef): string {
  const row = TROUBLESHOOTING_ROWS[ref.id];
  const scenario = ref.case === undefined ? undefined : row.cases?.[ref.case];
  const gist = scenario === undefined ? row.english : `${row.english}; case ${ref.case}: ${scenario}`;
  return `${row.dutch.replace(/\.$/, '')} (${gist})`;
}

const KEY_VAULT_DENIED = /Key Vault denied|permission denied/i;
const KEY_NOT_USABLE =
  /no private key|private key does not match|not exportable|cannot be used for TLS|has no key or certificate/i;

/**
 * The row an RA credential failure matches: no permission to read it (case 1 of the SSL/TLS row), a
 * certificate without a usable private key (case 3), anything else — absent, wrong pin, expired, no
 * client-auth EKU, unreadable — is "Kan clientcertificaat niet ophalen".
 */
function raCredentialRow(error: BrokerError): TroubleshootingRowRef {
  if (KEY_VAULT_DENIED.test(error.message)) return { id: 'secure-channel', case: 1 };
  if (KEY_NOT_USABLE.test(error.message)) return { id: 'secure-channel', case: 3 };
  return { id: 'client-certificate' };
}

const ROW_BY_CODE: Partial<Record<ErrorCode, TroubleshootingRowRef>> = {
  CA_NOT_ALLOWED: { id: 'secure-channel', case: 2 },
  CA_TIMEOUT: { id: 'policy-timeout' },
  PROFILE_NOT_FOUND: { id: 'request-element-not-understood' },
  POLICY_MISMATCH: { id: 'policy-verification' },
  SAN_VALUE_MISSING: { id: 'policy-verification' },
  NAME_CHARACTERS_UNSUPPORTED: { id: 'some-devices-no-certificates' },
  GAVE_UP: { id: 'issuepfx-exception' },
};

/**
 * The row a BrokerError matches, or undefined when the seed's table has none (a CA that reports itself
 * down, a refusal in the CA's own words, a malformed request: the connector's table does not cover them).
 */
export function troubleshootingRowFor(error: BrokerError): TroubleshootingRowRef | undefined {
  switch (error.code) {
    case 'RA_CERT_UNAVAILABLE':
      return raCredentialRow(error);
    case 'CA_TLS_FAILED':
      return isRaCertificateRejection(error)
        ? { id: 'secure-channel', case: 3 }
        : { id: 'secure-channel', case: 2 };
    default:
      return ROW_BY_CODE[error.code];
  }
}

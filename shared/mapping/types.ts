import type { KeySpec } from '../crypto/keys';
import type { NameValuePair } from '../digicert/types';
import type { ResolvedAddress } from './san';

/** What the mapping step decides for one request: the CSR's names and the enrollment's name/value pairs. */
export interface EnrollmentPlan {
  /** Subject of the CSR, as ordered RDN attributes (short names `CN`, `E`, plus the profile's fixed ones). */
  csrSubject: { shortName: string; value: string }[];
  /** SAN entries placed in the CSR (e-mail, UPN, otherName) so the request is self-describing. */
  csrSan: CsrSanEntry[];
  /**
   * The SID for the CSR's 1.3.6.1.4.1.311.25.2 extension (strong certificate mapping), when the profile has
   * a SID field and the request sent one.
   */
  csrSecurityIdentifier?: string;
  /**
   * The request's UPN after the fallbacks (AltNameTypeUpn, then AltNameTypeEmail, then the subject e-mail) and
   * the field it came from: the account a securityIdentifier must belong to (SID_VERIFY_WITH_GRAPH).
   */
  upn?: ResolvedAddress;
  nameValuePairs: NameValuePair[];
  /** The seat the certificate is counted against (the seat_id pair). */
  seatId?: string;
  /**
   * The certificate's key: an RSA modulus size, or the EC curve 'P-256' for a profile whose policy asks for
   * EC keys (the request's keySize then does not apply: see chooseKey).
   */
  keySize: KeySpec;
}

export type CsrSanEntry =
  | { kind: 'email'; value: string }
  | { kind: 'upn'; value: string }
  /** valueDer: the DER of the otherName value (what goes inside the [0] EXPLICIT). */
  | { kind: 'otherName'; oid: string; valueDer: Buffer };

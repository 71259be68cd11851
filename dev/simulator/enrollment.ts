/**
 * enrollmentService: `wst:RequestSecurityToken › requestVSSecurityToken` → issue → `wst:RequestSecurityTokenResponse
 * › RequestVSSecurityTokenResponse` (VS_WSTEP.xsd, ws-trust-1.3-verisign.xsd). The profile's `$variables`
 * are filled from the nameValuePairs (names matched case-insensitively, unknown names ignored) and checked
 * the way the CA does: mandatory values, the characters DigiCert refuses in mail_firstName/mail_lastName,
 * the key size (and, for an EC profile, an EC P-256 key), otherName values that must be base64 of DER, and a SID field's value that must be a SID.
 */
import type { NameValuePair } from '../../shared/digicert/types';
import type { IssueRequest, SanEntry, SubjectEntry, SubjectRdn } from './issuer';
import { CsrError, decodeBase64Strict, isWellFormedDer, readCsr } from './issuer';
import { groupSubjectAttributes, PKCS7_TOKEN_TYPE } from './policy';
import { isEcProfile, variableName, type SimulatorProfile } from './profiles';
import { clientFault, ERROR_CODES, notUnderstoodFault, unsupportedOperationFault } from './soapFault';
import { childElements, childText, el, leaf, sameName, type ParsedElement, type XmlElement } from './xml';

export const ENROLLMENT_NS = 'http://schemas.verisign.com/pkiservices/2009/07/enrollment';
export const WS_TRUST_NS = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/';
const PKCS10_VALUE_TYPE = 'http://schemas.verisign.com/pkiservices/2009/07/PKCS10';
const ISSUE = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue';
const RENEW = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew';
const BASE64_ENCODING =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#Base64Binary';

/** Characters DigiCert accepts in mail_firstName / mail_lastName (the seed's `_` problem). */
const NAME_CHARACTERS = /^[\p{L}\p{M}\p{N} .'-]*$/u;
const NAME_VARIABLES = ['mail_firstname', 'mail_lastname'];
/** A SID in its text form (MS-DTYP 2.4.2.1). */
const SID_TEXT = /^S-1-[0-9]+(-[0-9]+){1,14}$/;

export interface EnrollmentRequestXml {
  profileOid: string;
  clientTransactionId?: string;
  requestType: string;
  version: string;
  csrToken: string;
  nameValuePairs: NameValuePair[];
}

export function readEnrollmentRequest(body: ParsedElement): EnrollmentRequestXml {
  if (!sameName(body.name, 'RequestSecurityToken')) {
    throw unsupportedOperationFault('enrollment', body.name);
  }
  const tokenRequests = childElements(body, 'requestVSSecurityToken');
  const request = tokenRequests[0];
  if (tokenRequests.length !== 1 || request === undefined) {
    throw notUnderstoodFault(
      'RequestSecurityToken must contain exactly one requestVSSecurityToken.',
      ERROR_CODES.malformedRequest,
    );
  }
  const profileOid = childText(request, 'certificateProfileID') ?? '';
  if (profileOid === '') {
    throw notUnderstoodFault('certificateProfileID is missing.', ERROR_CODES.malformedRequest);
  }
  const requestType = childText(request, 'requestType') ?? '';
  if (requestType !== ISSUE && requestType !== RENEW) {
    throw notUnderstoodFault(
      `requestType "${requestType}" is not supported here (use ${ISSUE}).`,
      ERROR_CODES.malformedRequest,
    );
  }
  const tokens = childElements(request, 'binarySecurityToken');
  const csrElement = tokens.find(
    (token) => (token.attributes.ValueType ?? PKCS10_VALUE_TYPE) === PKCS10_VALUE_TYPE,
  );
  if (csrElement === undefined || csrElement.text === '') {
    throw notUnderstoodFault(
      `No binarySecurityToken with ValueType ${PKCS10_VALUE_TYPE} (the PKCS#10 request) was sent.`,
      ERROR_CODES.malformedRequest,
    );
  }
  const nameValuePairs = childElements(request, 'nameValuePair').map((pair) => ({
    name: childText(pair, 'name') ?? '',
    value: childText(pair, 'value') ?? '',
  }));
  return {
    profileOid,
    clientTransactionId: childText(request, 'clientTransactionID'),
    requestType,
    version: childText(request, 'version') ?? '',
    csrToken: csrElement.text,
    nameValuePairs,
  };
}

export interface EnrollmentDecision {
  issue: IssueRequest;
  /** The PKCS#10 request as received. */
  csrDer: Buffer;
  seatId?: string;
  commonName: string;
  emailAddress?: string;
}

class Variables {
  private readonly values = new Map<string, string>();

  constructor(pairs: NameValuePair[]) {
    for (const pair of pairs) {
      const key = pair.name.trim().toLowerCase();
      // The first pair of a name wins; blank values count as absent.
      if (key !== '' && pair.value.trim() !== '' && !this.values.has(key))
        this.values.set(key, pair.value.trim());
    }
  }

  get(name: string): string | undefined {
    return this.values.get(name.toLowerCase());
  }
}

function policyVerificationFailed(detail: string, errorcode: string): never {
  throw clientFault(`Policy verification failed. ${detail}`, errorcode, detail);
}

/** A fixed value, or the variable's value from the pairs; `undefined` when an optional variable is absent. */
function resolve(value: string, mandatory: boolean, variables: Variables, where: string): string | undefined {
  const variable = variableName(value);
  if (variable === undefined) return value;
  const resolved = variables.get(variable);
  if (resolved === undefined && mandatory) {
    policyVerificationFailed(
      `The attribute ${variable} is mandatory for ${where} and no value was supplied.`,
      ERROR_CODES.mandatoryAttributeMissing,
    );
  }
  return resolved;
}

const RDN_OF: Record<string, SubjectRdn> = {
  cn: 'CN',
  e: 'emailAddress',
  o: 'O',
  ou: 'OU',
  c: 'C',
  l: 'L',
  st: 'ST',
};

/** Applies the profile to the request: the subject, the SAN and the seat, or a fault saying what is wrong. */
export function decideEnrollment(
  request: EnrollmentRequestXml,
  profile: SimulatorProfile,
): EnrollmentDecision {
  let csr;
  try {
    csr = readCsr(request.csrToken);
  } catch (error) {
    if (error instanceof CsrError) {
      throw clientFault(`The certificate request is not valid: ${error.message}.`, ERROR_CODES.csrInvalid);
    }
    throw error;
  }
  const wantsEc = isEcProfile(profile);
  if (wantsEc !== (csr.keyAlgorithm === 'ec') || (wantsEc && csr.curve !== 'prime256v1')) {
    const has = csr.keyAlgorithm === 'ec' ? `an EC (${csr.curve ?? 'unknown curve'})` : 'an RSA';
    policyVerificationFailed(
      `The certificate request has ${has} key; the certificate profile requires ${wantsEc ? 'EC P-256' : 'RSA'} keys.`,
      ERROR_CODES.keySizeTooSmall,
    );
  }
  if (csr.keyBits < profile.keySize) {
    policyVerificationFailed(
      `The key size ${csr.keyBits} of the certificate request is smaller than the minimum ${profile.keySize} of the certificate profile.`,
      ERROR_CODES.keySizeTooSmall,
    );
  }

  const variables = new Variables(request.nameValuePairs);
  const usedVariables = [...profile.subjectAttributes, ...profile.sanAttributes]
    .map((attribute) => variableName(attribute.value)?.toLowerCase())
    .filter((name): name is string => name !== undefined);
  for (const name of NAME_VARIABLES) {
    const value = usedVariables.includes(name) ? variables.get(name) : undefined;
    if (value !== undefined && !NAME_CHARACTERS.test(value)) {
      const refused = [...new Set([...value].filter((char) => !NAME_CHARACTERS.test(char)))].join(' ');
      policyVerificationFailed(
        `The characters ${refused} in the value of ${name === 'mail_firstname' ? 'mail_firstName' : 'mail_lastName'} are not supported in mail_firstname/mail_lastname.`,
        ERROR_CODES.unsupportedCharacters,
      );
    }
  }

  const subject: SubjectEntry[] = [];
  for (const group of groupSubjectAttributes(profile.subjectAttributes)) {
    const name = group[0]!.attributeName.toLowerCase();
    const parts = group
      .map((attribute) => resolve(attribute.value, attribute.mandatory, variables, `subject ${name}`))
      .filter((part): part is string => part !== undefined);
    const rdn = RDN_OF[name];
    if (rdn !== undefined && parts.length > 0) subject.push({ rdn, value: parts.join(' ') });
  }

  const san: SanEntry[] = [];
  for (const attribute of profile.sanAttributes) {
    const name = attribute.attributeName.toLowerCase();
    const value = resolve(attribute.value, attribute.mandatory, variables, `SAN ${attribute.attributeName}`);
    if (value === undefined) continue;
    if (name === 'rfc822name') san.push({ kind: 'email', value });
    else if (name === 'dnsname') san.push({ kind: 'dns', value });
    else if (name === 'othernameupn') san.push({ kind: 'upn', value });
    else if (name === 'othername')
      san.push({
        kind: 'otherName',
        typeId: attribute.type ?? '',
        valueDer: otherNameDer(value, attribute.value),
      });
  }

  // The SID field's value goes into the 1.3.6.1.4.1.311.25.2 extension as ASCII text: only a SID in its text
  // form is taken (our model of the CA; DigiCert does not publish what it checks).
  let securityIdentifier: string | undefined;
  const sidField = profile.sidAttribute;
  if (sidField !== undefined) {
    const where = `the SID extension (${sidField.attributeName})`;
    securityIdentifier = resolve(sidField.value, sidField.mandatory, variables, where);
    if (securityIdentifier !== undefined && !SID_TEXT.test(securityIdentifier)) {
      policyVerificationFailed(
        `The value of ${variableName(sidField.value) ?? sidField.attributeName} must be a security identifier such as S-1-5-21-1-2-3-1001.`,
        ERROR_CODES.securityIdentifierInvalid,
      );
    }
  }

  let seatId = variables.get('seat_id');
  if (seatId === undefined && profile.seatId !== undefined) {
    seatId = resolve(profile.seatId.value, profile.seatId.mandatory, variables, 'the seat id');
  }

  return {
    issue: {
      publicKeyPem: csr.publicKeyPem,
      subject,
      san,
      validityDays: profile.validityDays,
      ...(securityIdentifier === undefined ? {} : { securityIdentifier }),
    },
    csrDer: csr.der,
    seatId,
    commonName: subject.find((entry) => entry.rdn === 'CN')?.value ?? '',
    emailAddress:
      subject.find((entry) => entry.rdn === 'emailAddress')?.value ??
      san.find((entry) => entry.kind === 'email')?.value,
  };
}

/** DigiCert takes an otherName only encoded: base64 of the DER value. */
function otherNameDer(value: string, placeholder: string): Buffer {
  let der: Buffer | undefined;
  try {
    der = Buffer.from(decodeBase64Strict(value, placeholder), 'binary');
  } catch {
    der = undefined;
  }
  if (der === undefined || !isWellFormedDer(der)) {
    policyVerificationFailed(
      `The value of ${placeholder.replace(/^\$/, '')} must be the base64 encoding of a DER value (hex-encoded otherName).`,
      ERROR_CODES.otherNameInvalid,
    );
  }
  return der;
}

export function requestSecurityTokenResponse(options: {
  clientTransactionId?: string;
  serverTransactionId: string;
  version: string;
  pkcs7Der: Buffer;
}): XmlElement {
  return el(
    'wst:RequestSecurityTokenResponse',
    { 'xmlns:wst': WS_TRUST_NS },
    el(
      'RequestVSSecurityTokenResponse',
      { xmlns: ENROLLMENT_NS },
      options.clientTransactionId !== undefined && leaf('clientTransactionID', options.clientTransactionId),
      leaf('serverTransactionID', options.serverTransactionId),
      leaf('tokenType', PKCS7_TOKEN_TYPE),
      leaf('dispositionMessage', 'Certificate issued'),
      el(
        'requestedVSSecurityToken',
        null,
        leaf('binarySecurityToken', options.pkcs7Der.toString('base64'), {
          ValueType: PKCS7_TOKEN_TYPE,
          EncodingType: BASE64_ENCODING,
        }),
      ),
      leaf('version', options.version),
    ),
  );
}

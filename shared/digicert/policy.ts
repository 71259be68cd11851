/**
 * policyService: the getPolicies request for one profile OID, and the getPoliciesResponse read into a
 * ProfilePolicy. The answer refers to OIDs and CAs by reference IDs (oIDs/oID, cAs/cA); they are resolved
 * here. Reading is tolerant: any prefix, any element casing, optional parts missing, one or many elements.
 */
import type { PolicyAttribute, PolicyCaCertificates, ProfilePolicy } from './types';
import { CallContext, profileNotInPolicyError, unexpectedAnswerError } from './faults';
import { PKI_WS_NAMESPACES, soapEnvelope } from './soap';
import {
  XmlElement,
  attribute,
  childElement,
  childElements,
  childText,
  el,
  findDescendant,
  parseBoolean,
  textOf,
} from './xml';

export const POLICY_REQUEST_VERSION = '2.0';
export const SUBJECT_ALT_NAME_OID = '2.5.29.17';
/** Used when the answer does not say how long the policy stays valid. */
export const DEFAULT_NEXT_UPDATE_HOURS = 1;

/** The getPolicies envelope asking for the policy of one certificate profile. */
export function buildGetPoliciesEnvelope(profileOid: string, clientTransactionId: string): string {
  return soapEnvelope(
    el(
      'pol:getPolicies',
      [
        el('pol:version', POLICY_REQUEST_VERSION),
        el('pol:clientTransactionID', clientTransactionId),
        el('pol:requestFilter', el('pol:policyIDs', el('pol:oid', profileOid))),
      ],
      { 'xmlns:pol': PKI_WS_NAMESPACES.policy },
    ),
  );
}

const OID_PATTERN = /^\d+(?:\.\d+)+$/;

function integer(value: string | undefined): number | undefined {
  return value !== undefined && /^\+?\d+$/.test(value) ? Number(value) : undefined;
}

function base64(value: string | undefined): string | undefined {
  const compact = value?.replace(/\s+/g, '');
  return compact === undefined || compact === '' ? undefined : compact;
}

interface OidEntry {
  value: string;
  defaultName?: string;
}

/** Looks in the response element first and then in its parent: servers differ on where collections sit. */
function collection(places: (XmlElement | undefined)[], localName: string): XmlElement | undefined {
  for (const place of places) {
    const found = childElement(place, localName);
    if (found !== undefined) return found;
  }
  return undefined;
}

function readOids(places: (XmlElement | undefined)[]): Map<string, OidEntry> {
  const table = new Map<string, OidEntry>();
  for (const oid of childElements(collection(places, 'oIDs'), 'oID')) {
    const id = childText(oid, 'oIDReferenceID');
    const value = childText(oid, 'value');
    if (id === undefined || value === undefined) continue;
    const entry: OidEntry = { value };
    const defaultName = childText(oid, 'defaultName');
    if (defaultName !== undefined) entry.defaultName = defaultName;
    table.set(id, entry);
  }
  return table;
}

function resolveOid(reference: string | undefined, table: Map<string, OidEntry>): string | undefined {
  if (reference === undefined) return undefined;
  const entry = table.get(reference);
  if (entry !== undefined) return entry.value;
  // Tolerated: a server that puts the OID itself where the reference ID belongs.
  return OID_PATTERN.test(reference) ? reference : undefined;
}

function readCa(ca: XmlElement): PolicyCaCertificates {
  const result: PolicyCaCertificates = { intermediates: [] };
  const issuingCa = base64(childText(ca, 'certificate'));
  if (issuingCa !== undefined) result.issuingCa = issuingCa;
  for (const intermediate of childElements(ca, 'intermediateCACertificates')) {
    // The XSD repeats the element with base64 text; tolerate a wrapper holding certificate children too.
    const texts =
      intermediate.children.length > 0 ? intermediate.children.map(textOf) : [textOf(intermediate)];
    for (const text of texts) {
      const value = base64(text);
      if (value !== undefined) result.intermediates.push(value);
    }
  }
  const root = base64(childText(ca, 'rootCACertificate'));
  if (root !== undefined) result.root = root;
  const issuerName = childText(ca, 'cAIssuerName');
  if (issuerName !== undefined) result.issuerName = issuerName;
  return result;
}

function readCas(places: (XmlElement | undefined)[], policy: XmlElement): PolicyCaCertificates[] {
  const byReference = new Map<string, XmlElement>();
  const all: XmlElement[] = [];
  for (const ca of childElements(collection(places, 'cAs'), 'cA')) {
    all.push(ca);
    const id = childText(ca, 'cAReferenceID');
    if (id !== undefined) byReference.set(id, ca);
  }
  const references = childElements(childElement(policy, 'cAs'), 'cAReference')
    .map(textOf)
    .filter((reference): reference is string => reference !== undefined);
  // A policy that names no CA: every CA of the answer is a candidate.
  const chosen =
    references.length === 0
      ? all
      : references
          .map((reference) => byReference.get(reference))
          .filter((ca): ca is XmlElement => ca !== undefined);
  return chosen.map(readCa);
}

/** One AttributeNameValuePairType: attributeName, attributeNameValue (@mandatory, @type), property. */
export function readAttributePair(pair: XmlElement): PolicyAttribute | undefined {
  const attributeName = childText(pair, 'attributeName');
  if (attributeName === undefined) return undefined;
  const valueElement = childElement(pair, 'attributeNameValue');
  const property = childElement(pair, 'attributeNameValueProperty');
  const mandatoryAttribute = attribute(valueElement, 'mandatory');
  const result: PolicyAttribute = {
    attributeName,
    value: textOf(valueElement) ?? childText(property, 'value') ?? '',
    mandatory:
      mandatoryAttribute === undefined
        ? parseBoolean(childText(property, 'mandatory'))
        : parseBoolean(mandatoryAttribute),
  };
  const type = attribute(valueElement, 'type')?.trim();
  if (type !== undefined && type !== '') result.type = type;
  return result;
}

function readPairs(pairs: XmlElement[]): PolicyAttribute[] {
  return pairs.map(readAttributePair).filter((pair): pair is PolicyAttribute => pair !== undefined);
}

function readSubject(attributes: XmlElement): PolicyAttribute[] {
  const info = childElement(attributes, 'subjectNameInfo');
  const pairs = [
    ...childElements(info, 'subjectNameAttribute').flatMap((group) =>
      childElements(group, 'subjectNameAttributeNameValuePair'),
    ),
    // Tolerated: pairs written straight under subjectNameInfo.
    ...childElements(info, 'subjectNameAttributeNameValuePair'),
  ];
  return readPairs(pairs);
}

function readSubjectAltName(attributes: XmlElement, oids: Map<string, OidEntry>): PolicyAttribute[] {
  const extensions = childElements(childElement(attributes, 'extensions'), 'Extension').filter(
    (extension) => resolveOid(childText(extension, 'extensionOIDReference'), oids) === SUBJECT_ALT_NAME_OID,
  );
  return readPairs(
    extensions.flatMap((extension) =>
      childElements(childElement(extension, 'extensionSyntax'), 'extensionAttributeNameValuePair'),
    ),
  );
}

function readSeatId(attributes: XmlElement): ProfilePolicy['seatId'] {
  const seat = childElement(attributes, 'seatIdInfo');
  if (seat === undefined) return undefined;
  const valueElement = childElement(seat, 'attributeNameValue');
  const property = childElement(seat, 'attributeNameValueProperty');
  const value = textOf(valueElement) ?? childText(property, 'value');
  if (value === undefined) return undefined;
  const mandatoryAttribute = attribute(valueElement, 'mandatory');
  return {
    value,
    mandatory:
      mandatoryAttribute === undefined
        ? parseBoolean(childText(property, 'mandatory'))
        : parseBoolean(mandatoryAttribute),
  };
}

/**
 * Reads the policy of `profileOid` from a getPoliciesResponse (`body` is the SOAP Body). Throws BrokerError
 * PROFILE_NOT_FOUND when the answer holds no policy for that OID, CA_REJECTED when it is no policy answer.
 */
export function parseGetPoliciesResponse(
  body: XmlElement,
  profileOid: string,
  context: CallContext,
): ProfilePolicy {
  const responseElement =
    childElement(body, 'getPoliciesResponse') ?? findDescendant(body, 'getPoliciesResponse');
  if (responseElement === undefined) {
    const found = body.children[0]?.name ?? 'an empty Body';
    throw unexpectedAnswerError(context, `expected getPoliciesResponse, got ${found}`);
  }
  const response = childElement(responseElement, 'response');
  const places = [responseElement, response];
  const oids = readOids(places);
  const policies = childElements(collection([response, responseElement], 'policies'), 'policy');

  const resolved = policies.map((policy) => ({
    policy,
    oid: resolveOid(childText(policy, 'policyOIDReference'), oids),
  }));
  let match = resolved.find((candidate) => candidate.oid === profileOid);
  if (match === undefined && resolved.length === 1 && resolved[0]?.oid === undefined && oids.size === 0) {
    // An answer without an OID table cannot name its one policy; we asked for exactly this OID.
    match = resolved[0];
  }
  if (match === undefined) {
    throw profileNotInPolicyError(
      context,
      profileOid,
      resolved.map((candidate) => candidate.oid ?? '(unresolved reference)'),
    );
  }

  const policy = match.policy;
  const attributes = childElement(policy, 'attributes') ?? policy;
  const nextUpdateHours =
    integer(childText(response, 'nextUpdateHours')) ??
    integer(childText(responseElement, 'nextUpdateHours')) ??
    DEFAULT_NEXT_UPDATE_HOURS;

  const result: ProfilePolicy = {
    profileOid,
    nextUpdateHours,
    subjectAttributes: readSubject(attributes),
    sanAttributes: readSubjectAltName(attributes, oids),
    cas: readCas(places, policy),
  };
  const oidReference = childText(policy, 'policyOIDReference');
  const friendlyName =
    (oidReference === undefined ? undefined : oids.get(oidReference)?.defaultName) ??
    childText(response, 'policyFriendlyName');
  if (friendlyName !== undefined) result.friendlyName = friendlyName;
  const seatId = readSeatId(attributes);
  if (seatId !== undefined) result.seatId = seatId;
  const keySize = integer(childText(childElement(attributes, 'privateKeyAttributes'), 'keysize'));
  if (keySize !== undefined) result.keySize = keySize;
  const validityDays = integer(
    childText(childElement(attributes, 'certificateValidity'), 'validityPeriodDays'),
  );
  if (validityDays !== undefined) result.validityDays = validityDays;
  const deliveryFormat = childText(childElement(attributes, 'systemInfo'), 'certificateDeliveryFormat');
  if (deliveryFormat !== undefined) result.deliveryFormat = deliveryFormat;
  return result;
}

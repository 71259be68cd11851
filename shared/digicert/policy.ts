/**
 * policyService: the getPolicies request for one profile OID, and the getPoliciesResponse read into a
 * ProfilePolicy. The answer refers to OIDs and CAs by reference IDs (oIDs/oID, cAs/cA); they are resolved
 * here. Reading is tolerant: any prefix, any element casing, optional parts missing, one or many elements.
 */
import type { PolicyAttribute, PolicyCaCertificates, PolicyKeyAlgorithm, ProfilePolicy } from './types';
import { OID_SID_EXTENSION, OID_SID_OTHER_NAME } from '../crypto/sidExtension';
import { profileNotInPolicyError, unexpectedAnswerError } from './faults/answerContent';
import { CallContext } from './faults/callContext';
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

// eslint-disable-next-line security/detect-unsafe-regex -- linear: every repeated arc starts with a literal dot
const OID_PATTERN = /^\d+(?:\.\d+)+$/;

function integer(value: string | undefined): number | undefined {
  return value !== undefined && /^\+?\d+$/.test(value) ? Number(value) : undefined;
}

function base64(value: string | undefined): string | undefined {
  const compact = value?.replace(/\s+/g, '');
  return compact === undefined || compact === '' ? undefined : compact;
}

/** A dotted OID from text such as "2.5.29.17", "OID.2.5.29.17" or "urn:oid:2.5.29.17"; else undefined. */
function oidText(value: string | undefined): string | undefined {
  const bare = value
    ?.trim()
    .replace(/^urn:oid:/i, '')
    .replace(/^oid[.:]\s*/i, '');
  return bare !== undefined && OID_PATTERN.test(bare) ? bare : undefined;
}

interface OidEntry {
  value?: string;
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

/** Reference IDs are xs:int: "07" and "7" are the same reference. */
function referenceKey(reference: string): string {
  const trimmed = reference.trim();
  return /^\d+$/.test(trimmed) ? String(Number(trimmed)) : trimmed;
}

function readOids(places: (XmlElement | undefined)[]): Map<string, OidEntry> {
  const table = new Map<string, OidEntry>();
  for (const oid of childElements(collection(places, 'oIDs'), 'oID')) {
    const id = childText(oid, 'oIDReferenceID');
    if (id === undefined) continue;
    const entry: OidEntry = {};
    const value = oidText(childText(oid, 'value'));
    if (value !== undefined) entry.value = value;
    const defaultName = childText(oid, 'defaultName');
    if (defaultName !== undefined) entry.defaultName = defaultName;
    if (entry.value !== undefined || entry.defaultName !== undefined) table.set(referenceKey(id), entry);
  }
  return table;
}

function oidEntry(reference: string | undefined, table: Map<string, OidEntry>): OidEntry | undefined {
  return reference === undefined ? undefined : table.get(referenceKey(reference));
}

function resolveOid(reference: string | undefined, table: Map<string, OidEntry>): string | undefined {
  if (reference === undefined) return undefined;
  const value = oidEntry(reference, table)?.value;
  if (value !== undefined) return value;
  // Tolerated: a server that puts the OID itself where the reference ID belongs.
  return oidText(reference);
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

/** How the oIDs table (defaultName) or an extension itself may name the subjectAltName extension. */
const SAN_NAME = /^(?:subject\s*alt(?:ernative|ernate)?\s*names?|subjectAltName|id-ce-subjectAltName|san)$/i;
/** Attribute names that only a subjectAltName extension carries. */
const SAN_ATTRIBUTE_NAME =
  /^(?:rfc822(?:Name)?|otherName\w*|userPrincipalName|upn|dNSName|dns|iPAddress|uniformResourceIdentifier|registeredID|directoryName|san_\w+)$/i;
/** Variables that only go into a subjectAltName extension (or are the e-mail an RFC822 name carries). */
const SAN_VARIABLE = /^\$(?:mail_email|otherName\w*|upn|userPrincipalName|dnsName|san_\w+)$/i;

function extensionPairs(extension: XmlElement): XmlElement[] {
  const syntax = childElement(extension, 'extensionSyntax');
  // The XSD's place, then pairs written straight under Extension or under the more generic name.
  return [syntax, extension].flatMap((place) => [
    ...childElements(place, 'extensionAttributeNameValuePair'),
    ...childElements(place, 'attributeNameValuePair'),
  ]);
}

/**
 * Whether an Extension is subjectAltName: by its OID (through the oIDs table, or written directly), else by
 * the table entry's defaultName or a name on the extension, else — the reference resolving to nothing — by
 * attributes only a SAN carries. An extension the table resolves to another OID is never a SAN.
 */
function isSubjectAltName(
  extension: XmlElement,
  pairs: PolicyAttribute[],
  oids: Map<string, OidEntry>,
): boolean {
  const reference = childText(extension, 'extensionOIDReference', 'extensionOID', 'oid');
  const oid = resolveOid(reference, oids);
  if (oid !== undefined) return oid === SUBJECT_ALT_NAME_OID;
  const names = [
    oidEntry(reference, oids)?.defaultName,
    childText(extension, 'defaultName', 'extensionName', 'name'),
  ];
  if (names.some((name) => name !== undefined && SAN_NAME.test(name.trim()))) return true;
  return pairs.some(
    (pair) => SAN_ATTRIBUTE_NAME.test(pair.attributeName.trim()) || SAN_VARIABLE.test(pair.value.trim()),
  );
}

function extensionsOf(attributes: XmlElement): XmlElement[] {
  // Tolerated: Extension elements straight under attributes, without the extensions wrapper.
  return [
    ...childElements(childElement(attributes, 'extensions'), 'Extension'),
    ...childElements(attributes, 'Extension'),
  ];
}

function readSubjectAltName(attributes: XmlElement, oids: Map<string, OidEntry>): PolicyAttribute[] {
  return extensionsOf(attributes).flatMap((extension) => {
    const pairs = readPairs(extensionPairs(extension));
    return isSubjectAltName(extension, pairs, oids) ? pairs : [];
  });
}

/**
 * The SID field: an attribute of the extension whose OID is 1.3.6.1.4.1.311.25.2 (the one typed
 * 1.3.6.1.4.1.311.25.2.1, else the first holding a variable, else the first), or — the extension's reference
 * resolving to nothing — an attribute typed 1.3.6.1.4.1.311.25.2.1 in any extension but the SAN. The
 * variable's name does not matter (`$objectSid` in our sample, anything in a real profile).
 */
function readSidAttribute(attributes: XmlElement, oids: Map<string, OidEntry>): PolicyAttribute | undefined {
  const isSidTyped = (pair: PolicyAttribute): boolean => oidText(pair.type) === OID_SID_OTHER_NAME;
  for (const extension of extensionsOf(attributes)) {
    const pairs = readPairs(extensionPairs(extension));
    const oid = resolveOid(childText(extension, 'extensionOIDReference', 'extensionOID', 'oid'), oids);
    if (oid === OID_SID_EXTENSION) {
      const chosen = pairs.find(isSidTyped) ?? pairs.find((pair) => pair.value.includes('$')) ?? pairs[0];
      if (chosen !== undefined) return chosen;
    } else if (oid === undefined && !isSubjectAltName(extension, pairs, oids)) {
      const typed = pairs.find(isSidTyped);
      if (typed !== undefined) return typed;
    }
  }
  return undefined;
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
 * privateKeyAttributes/algorithmOIDReference through the oIDs table: its OID and defaultName. Tolerated: the
 * OID written where the reference belongs, another element name (algorithmOID, algorithmOIDReferenceID), an
 * entry with a name and no OID. A nil or empty reference, or one that resolves to nothing, is no algorithm.
 */
function readKeyAlgorithm(
  keyAttributes: XmlElement | undefined,
  oids: Map<string, OidEntry>,
): PolicyKeyAlgorithm | undefined {
  const reference = childText(
    keyAttributes,
    'algorithmOIDReference',
    'algorithmOIDReferenceID',
    'algorithmOID',
  );
  if (reference === undefined || reference.trim() === '') return undefined;
  const entry = oidEntry(reference, oids);
  const oid = entry?.value ?? (entry === undefined ? oidText(reference) : undefined);
  const name = entry?.defaultName?.trim();
  const result: PolicyKeyAlgorithm = {};
  if (oid !== undefined) result.oid = oid;
  if (name !== undefined && name !== '') result.name = name;
  return result.oid === undefined && result.name === undefined ? undefined : result;
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
  const friendlyName = oidEntry(oidReference, oids)?.defaultName ?? childText(response, 'policyFriendlyName');
  if (friendlyName !== undefined) result.friendlyName = friendlyName;
  const sidAttribute = readSidAttribute(attributes, oids);
  if (sidAttribute !== undefined) result.sidAttribute = sidAttribute;
  const seatId = readSeatId(attributes);
  if (seatId !== undefined) result.seatId = seatId;
  const keyAttributes = childElement(attributes, 'privateKeyAttributes');
  const keySize = integer(childText(keyAttributes, 'keysize'));
  if (keySize !== undefined) result.keySize = keySize;
  const keyAlgorithm = readKeyAlgorithm(keyAttributes, oids);
  if (keyAlgorithm !== undefined) result.keyAlgorithm = keyAlgorithm;
  const validityDays = integer(
    childText(childElement(attributes, 'certificateValidity'), 'validityPeriodDays'),
  );
  if (validityDays !== undefined) result.validityDays = validityDays;
  const deliveryFormat = childText(childElement(attributes, 'systemInfo'), 'certificateDeliveryFormat');
  if (deliveryFormat !== undefined) result.deliveryFormat = deliveryFormat;
  return result;
}

/**
 * policyService: `getPolicies` → `getPoliciesResponse` (CertificateEnrollmentPolicy.xsd), modelled on
 * shared/reference/samples/getPoliciesResponse.xml: every OID goes through `oIDs` with a reference id, the
 * SAN is an `Extension` whose reference resolves to 2.5.29.17 (the SID field one resolving to 1.3.6.1.4.1.311.25.2,
 * as in getPoliciesResponse-sid.xml), and `cAs` carries the real DER certificates.
 */
import type { PolicyAttribute } from '../../shared/digicert/types';
import { isEcProfile, RSA_KEY_ALGORITHM, type SimulatorProfile } from './profiles';
import { ERROR_CODES, notUnderstoodFault } from './soapFault';
import {
  childElement,
  childElements,
  childText,
  el,
  leaf,
  nil,
  type ParsedElement,
  type XmlElement,
} from './xml';

export const POLICY_NS = 'http://schemas.verisign.com/pkiservices/2009/07/policy';
export const PKCS7_TOKEN_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#PKCS7';
const SAN_OID = '2.5.29.17';
const EKU_OID = '2.5.29.37';
/** szOID_NTDS_CA_SECURITY_EXT, named as in our sample policy (getPoliciesResponse-sid.xml). */
const SID_EXTENSION_OID = '1.3.6.1.4.1.311.25.2';
const EKU_VALUES = ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.4'];

export interface PolicyCa {
  issuingCaDerBase64: string;
  rootCaDerBase64: string;
  issuerName: string;
  enrollmentUrl: string;
}

export interface PolicyRequest {
  version: string;
  clientTransactionId?: string;
  /** Empty: no filter, every profile. */
  oids: string[];
}

export function readPolicyRequest(body: ParsedElement): PolicyRequest {
  const filter = childElement(body, 'requestFilter');
  const oids = childElements(childElement(filter, 'policyIDs'), 'oid')
    .map((oid) => oid.text)
    .filter((oid) => oid !== '');
  return {
    version: childText(body, 'version') ?? '',
    clientTransactionId: childText(body, 'clientTransactionID'),
    oids,
  };
}

/** Picks the requested profiles; an OID the simulator does not know is the seed's "not understood" fault. */
export function selectProfiles(profiles: SimulatorProfile[], oids: string[]): SimulatorProfile[] {
  if (oids.length === 0) return profiles;
  return oids.map((oid) => {
    const profile = profiles.find((candidate) => candidate.profileOid === oid);
    if (profile === undefined) {
      throw notUnderstoodFault(
        `Certificate profile OID ${oid} is not valid for this account.`,
        ERROR_CODES.profileNotValid,
      );
    }
    return profile;
  });
}

function nameValuePair(elementName: string, attribute: PolicyAttribute): XmlElement {
  return el(
    elementName,
    null,
    leaf('attributeName', attribute.attributeName),
    leaf('attributeNameValue', attribute.value, { mandatory: attribute.mandatory, type: attribute.type }),
  );
}

/** Consecutive attributes with the same name form one subjectNameAttribute (CN = $mail_firstName $mail_lastName). */
export function groupSubjectAttributes(attributes: PolicyAttribute[]): PolicyAttribute[][] {
  const groups: PolicyAttribute[][] = [];
  for (const attribute of attributes) {
    const last = groups[groups.length - 1];
    if (
      last !== undefined &&
      last[0]!.attributeName.toLowerCase() === attribute.attributeName.toLowerCase()
    ) {
      last.push(attribute);
    } else {
      groups.push([attribute]);
    }
  }
  return groups;
}

export function getPoliciesResponse(
  request: PolicyRequest,
  profiles: SimulatorProfile[],
  ca: PolicyCa,
  serverTransactionId: string,
): XmlElement {
  const oids: { value: string; group: number; name: string }[] = [];
  const reference = (value: string, group: number, name: string): number => {
    const index = oids.findIndex((oid) => oid.value === value);
    if (index >= 0) return index + 1;
    oids.push({ value, group, name });
    return oids.length;
  };
  const caReference = 1;
  const policies = profiles.map((profile) => {
    const policyReference = reference(profile.profileOid, 6, profile.friendlyName ?? profile.profileOid);
    const sanReference = reference(SAN_OID, 6, 'Subject Alternative Name');
    const ekuReference = reference(EKU_OID, 6, 'Enhanced Key Usage');
    const algorithm = profile.keyAlgorithm?.oid ?? RSA_KEY_ALGORITHM.oid;
    const algorithmName =
      profile.keyAlgorithm?.name ?? (profile.keyAlgorithm === undefined ? RSA_KEY_ALGORITHM.name : algorithm);
    const algorithmReference = reference(algorithm, 4, algorithmName);
    const sid = profile.sidAttribute;
    const sidReference = sid === undefined ? 0 : reference(SID_EXTENSION_OID, 6, 'NTDS CA Security');
    return el(
      'policy',
      null,
      leaf('policyOIDReference', policyReference),
      el('cAs', null, leaf('cAReference', caReference)),
      el(
        'attributes',
        null,
        leaf('policySchema', 3),
        el(
          'certificateValidity',
          null,
          leaf('validityPeriodDays', profile.validityDays),
          leaf('renewalPeriodDays', profile.renewalPeriodDays ?? 30),
        ),
        el(
          'subjectNameInfo',
          null,
          groupSubjectAttributes(profile.subjectAttributes).map((group) =>
            el(
              'subjectNameAttribute',
              null,
              leaf('subjectNameAttributecount', group.length),
              group.map((attribute) => nameValuePair('subjectNameAttributeNameValuePair', attribute)),
            ),
          ),
          leaf('overrideSubjectNameFormat', false),
        ),
        el(
          'extensions',
          null,
          profile.sanAttributes.length > 0 &&
            el(
              'Extension',
              null,
              leaf('extensionOIDReference', sanReference),
              leaf('extensionCriticalFlag', false),
              el(
                'extensionSyntax',
                null,
                profile.sanAttributes.map((attribute) =>
                  nameValuePair('extensionAttributeNameValuePair', attribute),
                ),
              ),
            ),
          el(
            'Extension',
            null,
            leaf('extensionOIDReference', ekuReference),
            leaf('extensionCriticalFlag', false),
            el(
              'extensionSyntax',
              null,
              EKU_VALUES.map((value) => leaf('extensionValue', value)),
            ),
          ),
          sid !== undefined &&
            el(
              'Extension',
              null,
              leaf('extensionOIDReference', sidReference),
              leaf('extensionCriticalFlag', false),
              el('extensionSyntax', null, nameValuePair('extensionAttributeNameValuePair', sid)),
            ),
        ),
        el(
          'privateKeyAttributes',
          null,
          leaf('keysize', profile.keySize),
          leaf('keyexportable', true),
          leaf('algorithmOIDReference', algorithmReference),
          el(
            'cryptoProviders',
            null,
            leaf(
              'provider',
              isEcProfile(profile)
                ? 'Microsoft Software Key Storage Provider'
                : 'Microsoft Enhanced RSA and AES Cryptographic Provider',
            ),
          ),
        ),
        el('clientPolicy', null, leaf('certPublish', 'no')),
        el(
          'systemInfo',
          null,
          leaf('certificateDeliveryFormat', PKCS7_TOKEN_TYPE),
          nil('serviceEndpointList'),
          leaf('duplicateCertPolicy', 'allow'),
          nil('supersededPolicyOID'),
        ),
        el(
          'rAPolicy',
          null,
          leaf('registerUser', false),
          leaf('verifyUser', false),
          leaf('publishCert', 'no'),
          nil('pollingPolicy'),
        ),
        profile.seatId !== undefined &&
          el(
            'seatIdInfo',
            null,
            leaf('attributeNameValue', profile.seatId.value, { mandatory: profile.seatId.mandatory }),
            el(
              'attributeNameValueProperty',
              null,
              leaf('value', profile.seatId.value),
              leaf('source', 'enrollment'),
              leaf('mandatory', profile.seatId.mandatory),
              leaf('overridable', false),
            ),
          ),
        nil('applicationInstructions'),
        leaf('deploymentMode', 'production'),
        leaf('status', 'active'),
        nil('migrationOIDs'),
      ),
    );
  });

  return el(
    'getPoliciesResponse',
    { xmlns: POLICY_NS },
    request.clientTransactionId !== undefined && leaf('clientTransactionID', request.clientTransactionId),
    leaf('serverTransactionID', serverTransactionId),
    el(
      'response',
      null,
      leaf('policyID', '{5D1B7A52-3C0E-4E7A-9F61-0D2B1C5E7A01}'),
      leaf('policyFriendlyName', 'Dev PKI Platform (simulator)'),
      leaf('nextUpdateHours', Math.min(...profiles.map((profile) => profile.nextUpdateHours))),
      leaf('policiesNotChanged', false),
      el('policies', null, policies),
    ),
    el(
      'cAs',
      null,
      el(
        'cA',
        null,
        leaf('uris', ca.enrollmentUrl),
        leaf('certificate', ca.issuingCaDerBase64),
        leaf('cAIssuerName', ca.issuerName),
        leaf('cAReferenceID', caReference),
        leaf('cAType', 'private'),
        leaf('rootCACertificate', ca.rootCaDerBase64),
      ),
    ),
    el(
      'oIDs',
      null,
      oids.map((oid, index) =>
        el(
          'oID',
          null,
          leaf('value', oid.value),
          leaf('oIDReferenceID', index + 1),
          leaf('group', oid.group),
          leaf('defaultName', oid.name),
        ),
      ),
    ),
  );
}

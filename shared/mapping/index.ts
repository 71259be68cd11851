/**
 * shared/mapping: pure functions that apply the seed's rules (subject formats, SAN fallbacks, encoded
 * otherName, the profile's `$variables`) to a validated request and a profile policy.
 */
export { planEnrollment, SEAT_PAIR_NAME, type PlanOptions } from './plan';
export { parseSubjectName, type ParsedSubjectName, type SubjectNameFormat } from './subject';
export {
  resolveSanValues,
  EMAIL_FALLBACKS,
  UPN_FALLBACKS,
  SUBJECT_EMAIL_FALLBACKS,
  type AddressOrigin,
  type ResolvedAddress,
  type ResolvedSanValues,
  type RequestOtherName,
} from './san';
export { derFromHex, parseOtherNameHex, type OtherNameValue } from './otherName';
export { parseStrictDer, DerError, type DerNode, type DerTagClass } from '../der';
export {
  bindRequestOtherNames,
  findOtherName,
  profileOtherNameFields,
  type BoundOtherName,
} from './otherNameFields';
export {
  deriveMailNames,
  findUnsupportedNameCharacter,
  type MailNames,
  type UnsupportedCharacter,
} from './mailNames';
export {
  collectPolicyVariables,
  decideVariableSource,
  parseSourceName,
  formatSource,
  variableNameOf,
  SOURCE_NAMES,
  type VariableSource,
  type PolicyVariable,
  type VariableOccurrence,
  type AttributeLocation,
  type SourceDecision,
  type SourceDecider,
} from './variables';
export {
  normaliseAttributeName,
  subjectAttributeKind,
  sanAttributeKind,
  isOtherNameAttribute,
  otherNameTypeOf,
  subjectFieldsOf,
  type SubjectShortName,
  type SanAttributeKind,
  type SubjectField,
} from './attributeKinds';
export {
  parseValueTemplate,
  renderTemplate,
  templateVariables,
  variableKey,
  type TemplatePart,
} from './template';
export {
  chooseKey,
  chooseKeySize,
  profileKeyAlgorithm,
  SUPPORTED_KEY_SIZES,
  type ProfileKeyAlgorithm,
} from './keySize';
export { looksLikeMailAddress, isDottedOid } from './text';
export type { EnrollmentPlan, CsrSanEntry } from './types';

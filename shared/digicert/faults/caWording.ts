/**
 * What a SOAP fault's words say is wrong, as an ordered table of patterns → outcome: pure, no BrokerError.
 *
 * Each part of a fault (faultstring, detail message, whole detail, errorcode) is matched on its own: '.' never
 * crosses the newlines they are joined with (OIDs contain dots, so sentences are not a usable boundary).
 * The rules are tried from the most specific to the most generic, because CAs put a generic faultstring
 * ("A request element was not understood.") in front of a detail that says what is really wrong.
 */

/** A first or last name, as a field name (mail_firstName, "mail firstName", first_name) or in words. */
const NAME_FIELD =
  /\bmail[_ ]?(?:first|last)[_ ]?name\b|\b(?:first|last|given|sur|family)[_ ]?name\b|\bvoornaam\b|\bachternaam\b/i;
/** Words that complain about characters, when a name field is named in the same part. ("not supported" alone
 * is left out: "attribute mail_firstName is not supported" means the profile lacks the field.) */
const CHARACTER_COMPLAINT =
  // eslint-disable-next-line security/detect-unsafe-regex -- alternatives of fixed words, lookaheads of fixed words: linear
  /charact|special|symbol|underscore|invalid|illegal|\bcontains?\b(?!\s+no\b)(?!\s+(?:an?\s+)?empty\b)|\btekens\b/i;
/** A complaint about characters that stands on its own, without a field named. */
const CHARACTER_PROBLEM =
  /\b(?:special|invalid|illegal|unsupported|forbidden|disallowed)\s+characters?\b|\bcharacters?\b.{0,60}?\b(?:not (?:allowed|supported|permitted|accepted)|invalid|illegal|unsupported|forbidden)\b|\b(?:speciale|ongeldige)\s+tekens\b/i;

/** Names of the profile's subject and SAN attributes, spelled as PKI-WS and Intune spell them. */
const KNOWN_ATTRIBUTE =
  // eslint-disable-next-line security/detect-unsafe-regex -- alternatives of fixed words with optional separators: linear
  /\b(?:rfc822Name|otherName\w*|dNSName|userPrincipalName|upn|common[_ ]?name|cn|e-?mail(?:[_ ]?address)?|seat[_ ]?id|subject(?:[_ ]?alt(?:ernative)?[_ ]?names?|[_ ]?names?|[_ ]?dn)?|subjectAltName|san)\b/i;
/** A word that says the fault is about an attribute, a field or a name/value pair ("value" alone is weaker). */
const ATTRIBUTE_WORD =
  /\b(?:attributes?|fields?|name[_ ]?value[_ ]?pairs?|parameters?|variables?|kenmerk(?:en)?|veld(?:en)?)\b|\$[A-Za-z_]\w*/i;
const VALUE_WORD = /\b(?:values?|waarden?)\b/i;
/** A variable-like identifier such as mail_email or common_name (not an all-capitals error constant). */
const IDENTIFIER = /\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]\b/g;
/** What can be wrong with an attribute. */
const ATTRIBUTE_PROBLEM =
  /\bmissing\b|\brequired?\b|\brequires\b|\bmandatory\b|\bnot (?:been )?(?:found|provided|supplied|present|given|specified|set|sent|included|in the list)\b|\b(?:cannot|can ?not|must not|may not|should not) be (?:empty|blank|null|omitted)\b|\b(?:is|was|are|were) (?:empty|blank|null)\b|\bnot (?:supported|allowed|permitted|accepted|recogni[sz]ed|expected)\b|\bunsupported\b|\bunknown\b|\bunexpected\b|\binvalid\b|\bnot (?:a )?valid\b|\bdoes not match\b|\bmismatch|\bcharacters?\b|\bontbreekt\b|\bverplicht\b|\bniet (?:ondersteund|toegestaan)\b/i;

/** The profile's identifier: "profile OID", "certificateProfileID", "policy ID", "template OID". */
const PROFILE_REFERENCE = /(?:profile|policy|template)[_ -]?(?:oid|id|identifier)\b/i;
const REFERENCE_PROBLEM =
  /not valid|invalid|unknown|not found|does not exist|doesn't exist|not exist|not recogni[sz]ed|unrecogni[sz]ed|no such/i;
const PROFILE_UNKNOWN = [
  /\b(?:profile|policy|template)\b.{0,120}?\b(?:oid|id)\b.{0,120}?(?:not valid|invalid|unknown|not found|does not exist|doesn't exist|not exist|not recogni[sz]ed)/i,
  // eslint-disable-next-line security/detect-unsafe-regex -- fixed words separated by \s+ or \s*: linear
  /\b(?:unknown|invalid|no such|unrecogni[sz]ed)\s+(?:certificate\s*)?(?:profile|policy|template)/i,
  /\bno (?:certificate )?(?:profile|policy|policies|template)\b.{0,80}?\b(?:found|exists?|available|defined|configured)\b/i,
  /\bno (?:certificate )?(?:profile|policy|template)\b.{0,40}?\b(?:for|with|matching)\b.{0,40}?\b(?:oid|id)\b/i,
  /\b(?:profile|policy|template)\b.{0,120}?(?:not found|does not exist|doesn't exist|unknown|not recogni[sz]ed)/i,
];
const POLICY_VERIFICATION = [
  /not in the list of.{0,80}?supported attributes/i,
  /niet op de lijst.{0,80}?ondersteunde kenmerken/i,
  /\bpolicy verification\b/i,
  /\bverification of (?:the )?policy\b/i,
  /\bverificatie van (?:het )?beleid\b/i,
  /\bmandatory\b/i,
  /\bmissing\b/i,
  /\brequired attribute\b/i,
  /\battribute\b.{0,80}?\bnot (?:supported|allowed|permitted)\b/i,
];
/** The generic words of the seed's "A request element was not understood" (in English and in Dutch). */
const NOT_UNDERSTOOD = /not understood|niet begrepen/i;

function hasVariableName(part: string): boolean {
  return [...part.matchAll(IDENTIFIER)].some(([identifier]) => /[a-z]/.test(identifier));
}

function namesAttribute(part: string): boolean {
  return ATTRIBUTE_WORD.test(part) || KNOWN_ATTRIBUTE.test(part) || hasVariableName(part);
}

function attributeProblem(part: string): boolean {
  return namesAttribute(part) && ATTRIBUTE_PROBLEM.test(part);
}

function profileReferenceProblem(part: string): boolean {
  return PROFILE_REFERENCE.test(part) && REFERENCE_PROBLEM.test(part);
}

/** Names a field other than a first or last name (a character problem there is not the seed's one). */
function namesOtherField(part: string): boolean {
  // eslint-disable-next-line security/detect-non-literal-regexp -- NAME_FIELD is a constant regex of this file, given the g flag
  return KNOWN_ATTRIBUTE.test(part) || hasVariableName(part.replace(new RegExp(NAME_FIELD.source, 'gi'), ''));
}

/** The kinds of refusal the words can name; anything else is left to the fault's code. */
export type FaultWording = 'NAME_CHARACTERS_UNSUPPORTED' | 'POLICY_MISMATCH' | 'PROFILE_NOT_FOUND';

interface FaultWords {
  /** The non-empty parts, each matched on its own. */
  parts: readonly string[];
  /** All parts joined by newlines. */
  all: string;
}

interface WordingRule {
  outcome: FaultWording;
  matches: (words: FaultWords) => boolean;
}

const everyPattern = (patterns: readonly RegExp[], outcome: FaultWording): WordingRule[] =>
  patterns.map((pattern) => ({ outcome, matches: ({ all }) => pattern.test(all) }));

/** The first rule that matches decides. */
const WORDING_RULES: readonly WordingRule[] = [
  // A first/last name with a complaint about characters, or a complaint about characters naming no other
  // field: the seed's only known character problem is mail_firstname/mail_lastname.
  {
    outcome: 'NAME_CHARACTERS_UNSUPPORTED',
    matches: ({ parts }) => parts.some((part) => NAME_FIELD.test(part) && CHARACTER_COMPLAINT.test(part)),
  },
  {
    outcome: 'NAME_CHARACTERS_UNSUPPORTED',
    matches: ({ parts, all }) =>
      CHARACTER_PROBLEM.test(all) &&
      (NAME_FIELD.test(all) || !parts.some((part) => CHARACTER_PROBLEM.test(part) && namesOtherField(part))),
  },
  // A part that names an attribute, a field or a name/value pair and says what is wrong with it wins over
  // everything generic, including a "profile … not found" around it. Then a part that says the profile's
  // identifier is wrong; then a part about a value ("Invalid value for certificateProfileID" is the profile).
  { outcome: 'POLICY_MISMATCH', matches: ({ parts }) => parts.some(attributeProblem) },
  { outcome: 'PROFILE_NOT_FOUND', matches: ({ parts }) => parts.some(profileReferenceProblem) },
  {
    outcome: 'POLICY_MISMATCH',
    matches: ({ parts }) => parts.some((part) => VALUE_WORD.test(part) && ATTRIBUTE_PROBLEM.test(part)),
  },
  ...everyPattern(PROFILE_UNKNOWN, 'PROFILE_NOT_FOUND'),
  ...everyPattern(POLICY_VERIFICATION, 'POLICY_MISMATCH'),
  { outcome: 'PROFILE_NOT_FOUND', matches: ({ all }) => NOT_UNDERSTOOD.test(all) },
];

/** Which kind of refusal the fault's words describe, the most specific kind first; undefined for none. */
export function classifyFaultWording(parts: readonly string[]): FaultWording | undefined {
  const texts = parts.filter((part) => part.trim() !== '');
  const words: FaultWords = { parts: texts, all: texts.join(' \n ') };
  return WORDING_RULES.find((rule) => rule.matches(words))?.outcome;
}

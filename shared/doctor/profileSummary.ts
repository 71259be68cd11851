/**
 * What a profile's policy asks for, seen from the broker: each `$variable`, where it sits, and which request
 * value fills it (the mapping's own decision, PROFILE_FIELD_MAP included) — or that nothing does.
 */
import { isBrokerError, type BrokerError } from '../contract/errors';
import type { PolicyAttribute, ProfilePolicy } from '../digicert/types';
import { templateVariables, variableKey } from '../mapping/template';
import {
  collectPolicyVariables,
  decideVariableSource,
  describeOccurrence,
  formatSource,
  SOURCE_NAMES,
  variableNameOf,
  type SourceDecider,
} from '../mapping/variables';

export interface VariableSummary {
  /** Without `$`, as the profile spells it. */
  name: string;
  mandatory: boolean;
  /** Where it sits: `subject attribute "cn"`, `SAN attribute "rfc822Name"`, `seatIdInfo`. */
  where: string[];
  /** The source filling it (`email`, `upn`, `otherName:1.3.6.1.4.1.311.25.1`, `const:…`), if any. */
  source?: string;
  decidedBy?: SourceDecider;
}

export interface ProfileSummary {
  variables: VariableSummary[];
  /** Mandatory variables no source fills: every request for the profile would fail (POLICY_MISMATCH). */
  unfillable: VariableSummary[];
  /** A PROFILE_FIELD_MAP entry for this profile that names no source. */
  fieldMapError?: BrokerError;
  /** Fixed values: `subject attribute "o" = Contoso Ltd`. */
  fixed: string[];
  /** mail_firstName / mail_lastName: DigiCert refuses special characters in them (the seed's row). */
  mailNameVariables: string[];
  /** The SID field of strong certificate mapping (extension 1.3.6.1.4.1.311.25.2); absent: the profile has none. */
  sidField?: SidFieldSummary;
}

export interface SidFieldSummary {
  /** The variable without `$` (`objectSid`), or undefined when the profile fixes the value. */
  variable?: string;
  /** Mandatory: requests without securityIdentifier fail; optional: they are issued without the SID. */
  mandatory: boolean;
}

const MAIL_NAME_KEYS = new Set(['mail_firstname', 'mail_lastname']);

function fixedValues(where: string, attributes: readonly PolicyAttribute[]): string[] {
  return attributes
    .filter((attribute) => templateVariables(attribute.value).length === 0 && attribute.value.trim() !== '')
    .map((attribute) => `${where} "${attribute.attributeName}" = ${attribute.value}`);
}

export function summarizeProfile(
  policy: ProfilePolicy,
  fieldMap: Readonly<Record<string, string>>,
): ProfileSummary {
  const variables: VariableSummary[] = [];
  let fieldMapError: BrokerError | undefined;
  for (const variable of collectPolicyVariables(policy)) {
    const summary: VariableSummary = {
      name: variable.name,
      mandatory: variable.mandatory,
      where: variable.occurrences.map(describeOccurrence),
    };
    try {
      const decision = decideVariableSource(variable, fieldMap);
      if (decision !== undefined) {
        summary.source = formatSource(decision.source);
        summary.decidedBy = decision.decidedBy;
      }
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      fieldMapError ??= error;
    }
    variables.push(summary);
  }
  const summary: ProfileSummary = {
    variables,
    unfillable: variables.filter((variable) => variable.mandatory && variable.source === undefined),
    fixed: [
      ...fixedValues('subject attribute', policy.subjectAttributes),
      ...fixedValues('SAN attribute', policy.sanAttributes),
    ],
    mailNameVariables: variables
      .filter((variable) => MAIL_NAME_KEYS.has(variableKey(variable.name)))
      .map((variable) => variable.name),
  };
  if (fieldMapError !== undefined) summary.fieldMapError = fieldMapError;
  if (policy.sidAttribute !== undefined) {
    const variable = variableNameOf(policy.sidAttribute.value);
    summary.sidField =
      variable === undefined
        ? { mandatory: policy.sidAttribute.mandatory }
        : { variable, mandatory: policy.sidAttribute.mandatory };
  }
  return summary;
}

/** Whether the profile can carry a SID, and what that means for requests with and without securityIdentifier. */
export function describeSidField(sidField: SidFieldSummary | undefined): string {
  if (sidField === undefined)
    return 'SID field: none (requests with securityIdentifier fail with POLICY_MISMATCH)';
  if (sidField.variable === undefined)
    return 'SID field: fixed by the profile (requests with securityIdentifier fail with POLICY_MISMATCH)';
  return sidField.mandatory
    ? `SID field: $${sidField.variable}, mandatory (requests without securityIdentifier fail with POLICY_MISMATCH)`
    : `SID field: $${sidField.variable}, optional (filled when the request has securityIdentifier)`;
}

/** One line per variable: `$mail_email (mandatory) subject attribute "e", seatIdInfo ← email (by attribute)`. */
export function describeVariable(variable: VariableSummary): string {
  const filled =
    variable.source === undefined
      ? variable.mandatory
        ? '← nothing: the broker cannot fill it'
        : '← nothing (optional: left out)'
      : `← ${variable.source} (by ${variable.decidedBy ?? 'attribute'})`;
  return `$${variable.name} (${variable.mandatory ? 'mandatory' : 'optional'}) ${variable.where.join(', ')} ${filled}`;
}

/** The remedy for mandatory variables nothing fills (the mapping's own advice, for all of them at once). */
export function unfillableRemedy(unfillable: readonly VariableSummary[]): string {
  const names = unfillable.map((variable) => variable.name);
  const example = names[0] ?? 'variable';
  return `Either fix ${names.map((name) => `$${name}`).join(', ')} to a constant value in the DigiCert certificate profile (only CN, E, e-mail, UPN and otherName come from Intune), or map ${names.length > 1 ? 'them' : 'it'} with PROFILE_FIELD_MAP, e.g. PROFILE_FIELD_MAP={"${example}":"const:<value>"} or {"${example}":"email"} (sources: ${SOURCE_NAMES.join(', ')}).`;
}

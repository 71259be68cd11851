import { BrokerError } from '../contract/errors';
import type { PolicyAttribute, ProfilePolicy } from '../digicert/types';
import { OID_UPN } from '../crypto/csr';
import { isOtherNameAttribute, otherNameTypeOf, sanAttributeKind } from './attributeKinds';
import type { RequestOtherName } from './san';
import type { VariableSource } from './variables';

/** A request otherName tied to the otherName type it fills. */
export interface BoundOtherName extends RequestOtherName {
  /** The request's oid, else the type of the profile's one otherName field (undefined if that has none). */
  effectiveOid?: string;
}

const REMEDY =
  'Make the otherName entries of the Intune profile match the otherName fields of the DigiCert certificate profile: set each entry\'s oid to the type-id of a DigiCert otherName field (it may be left out where the profile has exactly one otherName field), add the missing field to the DigiCert profile, or map it with PROFILE_FIELD_MAP (e.g. {"<variable>":"otherName:1.3.6.1.4.1.311.25.1"}).';

function mismatch(message: string): BrokerError {
  return new BrokerError('POLICY_MISMATCH', message, { remedy: REMEDY });
}

/**
 * The profile's SAN otherName fields that take a request otherName. An otherName field of the UPN type is not
 * one: it takes the request's UPN (unless PROFILE_FIELD_MAP maps its variable to an otherName source).
 */
export function profileOtherNameFields(policy: ProfilePolicy): PolicyAttribute[] {
  return policy.sanAttributes.filter(
    (attribute) => isOtherNameAttribute(attribute.attributeName) && sanAttributeKind(attribute) !== 'upn',
  );
}

/**
 * Ties every request otherName to a profile otherName field (by `type` = oid, or the profile's only field when
 * the request gives no oid) or to a PROFILE_FIELD_MAP `otherName:<oid>` source. An otherName nothing in the
 * profile takes is a POLICY_MISMATCH: the seed issues nothing when the two profiles disagree.
 */
export function bindRequestOtherNames(
  requestOtherNames: readonly RequestOtherName[],
  policy: ProfilePolicy,
  sources: readonly VariableSource[],
): BoundOtherName[] {
  const fields = profileOtherNameFields(policy);
  const takenOids = new Set<string>();
  for (const field of fields) {
    const oid = otherNameTypeOf(field);
    if (oid !== undefined) takenOids.add(oid);
  }
  let takesAnyOid = fields.some((field) => otherNameTypeOf(field) === undefined);
  for (const source of sources) {
    if (source.kind !== 'otherName') continue;
    if (source.oid === undefined) takesAnyOid = true;
    else takenOids.add(source.oid);
  }
  const known = takenOids.size === 0 ? 'none' : [...takenOids].join(', ');

  const bound: BoundOtherName[] = [];
  const seenOids = new Map<string, string>();
  for (const otherName of requestOtherNames) {
    const entry = `subjectAlternativeNames[${otherName.index}]`;
    let effectiveOid: string | undefined;
    if (otherName.oid !== undefined) {
      if (!takenOids.has(otherName.oid) && !takesAnyOid) {
        if (otherName.oid === OID_UPN) {
          throw new BrokerError(
            'POLICY_MISMATCH',
            `${entry} is an otherName of the UPN type ${OID_UPN}, but the DigiCert certificate profile has no otherName field that takes a request otherName of that type: the broker fills UPN fields (otherNameUPN, or otherName of the UPN type) from the request's UPN.`,
            {
              remedy: `Send the UPN as an AltNameTypeUpn entry instead of ${entry}, or map the UPN field's variable with PROFILE_FIELD_MAP (e.g. {"<variable>":"otherName:${OID_UPN}"}).`,
            },
          );
        }
        throw mismatch(
          `${entry}.oid is ${otherName.oid}, but the DigiCert certificate profile has no otherName field of that type (its otherName types: ${known}).`,
        );
      }
      effectiveOid = otherName.oid;
    } else if (takenOids.size === 1 && !takesAnyOid) {
      effectiveOid = [...takenOids][0];
    } else if (takenOids.size === 0 && !takesAnyOid) {
      throw mismatch(
        `${entry} is an otherName, but the DigiCert certificate profile has no otherName field to put it in.`,
      );
    } else if (takenOids.size > 0) {
      throw mismatch(
        `${entry} is an otherName without an oid, but the DigiCert certificate profile has several otherName fields (${known}${takesAnyOid ? ', and one without a type' : ''}): set ${entry}.oid to say which one it fills.`,
      );
    }

    if (effectiveOid !== undefined) {
      const earlier = seenOids.get(effectiveOid);
      if (earlier !== undefined) {
        throw mismatch(
          `${entry} and ${earlier} are both otherNames of type ${effectiveOid}; the DigiCert profile takes one value per otherName field.`,
        );
      }
      seenOids.set(effectiveOid, entry);
    }
    bound.push(effectiveOid === undefined ? { ...otherName } : { ...otherName, effectiveOid });
  }
  return bound;
}

/**
 * The request otherName an `otherName` source reads: the one of its oid; without an oid (a profile field that
 * names no type), the one without an effective oid, else the request's only otherName.
 */
export function findOtherName(
  bound: readonly BoundOtherName[],
  source: { oid?: string },
): BoundOtherName | undefined {
  if (source.oid !== undefined) return bound.find((otherName) => otherName.effectiveOid === source.oid);
  return (
    bound.find((otherName) => otherName.effectiveOid === undefined) ??
    (bound.length === 1 ? bound[0] : undefined)
  );
}

/**
 * The simulator's certificate profiles: our own JSON in the shape of the broker's policy model, so the
 * same words describe a profile on both sides of the wire. Tests and admins may point the simulator at
 * their own file; it is checked here and refused with a message naming the bad entry.
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import type { PolicyAttribute, PolicyKeyAlgorithm, ProfilePolicy } from '../../shared/digicert/types';
import defaultProfilesJson from './profiles.json';

export type SimulatorProfile = Omit<ProfilePolicy, 'cas' | 'validityDays' | 'keySize' | 'deliveryFormat'> & {
  validityDays: number;
  /** Minimum RSA key size of the CSR; 256 for an EC profile (keyAlgorithm id-ecPublicKey or ecdsa-with-SHA256). */
  keySize: number;
  /** certificateValidity/renewalPeriodDays in the policy answer (30 when absent). */
  renewalPeriodDays?: number;
};

/** Subject attribute names the simulator can put into a certificate, and the RDN each one becomes. */
export const SUBJECT_ATTRIBUTE_NAMES = ['cn', 'e', 'o', 'ou', 'c', 'l', 'st'] as const;
/** SAN attribute names the simulator can put into a certificate. */
export const SAN_ATTRIBUTE_NAMES = ['rfc822Name', 'dNSName', 'otherNameUPN', 'otherName'] as const;

const OID = '^[0-2](\\.(0|[1-9][0-9]*))+$';

/** The two readings of algorithmOIDReference for an EC profile: the key algorithm, or the signature algorithm. */
export type EcAlgorithmReading = 'ecPublicKey' | 'ecdsa-with-SHA256';
export const EC_ALGORITHM_READINGS: readonly EcAlgorithmReading[] = ['ecPublicKey', 'ecdsa-with-SHA256'];
/** What an EC profile's algorithmOIDReference names under each reading. */
export const EC_KEY_ALGORITHMS: Record<EcAlgorithmReading, Required<PolicyKeyAlgorithm>> = {
  ecPublicKey: { oid: '1.2.840.10045.2.1', name: 'ECC' },
  'ecdsa-with-SHA256': { oid: '1.2.840.10045.4.3.2', name: 'sha256ECDSA' },
};
/** An RSA profile's algorithmOIDReference (the DigiCert samples' reading). */
export const RSA_KEY_ALGORITHM: Required<PolicyKeyAlgorithm> = {
  oid: '1.2.840.113549.1.1.11',
  name: 'sha256RSA',
};

/** Whether the profile issues for EC P-256 keys: its algorithm OID is id-ecPublicKey or ecdsa-with-SHA256. */
export function isEcProfile(profile: Pick<SimulatorProfile, 'keyAlgorithm'>): boolean {
  const oid = profile.keyAlgorithm?.oid;
  return EC_ALGORITHM_READINGS.some((reading) => EC_KEY_ALGORITHMS[reading].oid === oid);
}

/** The profiles with every EC profile's algorithmOIDReference naming what `reading` says (the others as given). */
export function withEcAlgorithmReading(
  profiles: SimulatorProfile[],
  reading: EcAlgorithmReading,
): SimulatorProfile[] {
  return profiles.map((profile) =>
    isEcProfile(profile) ? { ...profile, keyAlgorithm: { ...EC_KEY_ALGORITHMS[reading] } } : profile,
  );
}
const VARIABLE = /^\$[A-Za-z][A-Za-z0-9_]*$/;

const attributeSchema = {
  type: 'object',
  required: ['attributeName', 'value', 'mandatory'],
  additionalProperties: false,
  properties: {
    attributeName: { type: 'string', minLength: 1 },
    value: { type: 'string', minLength: 1 },
    mandatory: { type: 'boolean' },
    type: { type: 'string', minLength: 1 },
  },
};

const profileFileSchema = {
  type: 'object',
  required: ['profiles'],
  additionalProperties: false,
  properties: {
    description: { type: 'string' },
    profiles: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: [
          'profileOid',
          'nextUpdateHours',
          'validityDays',
          'keySize',
          'subjectAttributes',
          'sanAttributes',
        ],
        additionalProperties: false,
        properties: {
          profileOid: { type: 'string', pattern: OID },
          friendlyName: { type: 'string' },
          nextUpdateHours: { type: 'integer', minimum: 0, maximum: 8760 },
          validityDays: { type: 'integer', minimum: 1, maximum: 3650 },
          renewalPeriodDays: { type: 'integer', minimum: 0, maximum: 3650 },
          keySize: { type: 'integer', minimum: 256, maximum: 16384 },
          keyAlgorithm: {
            type: 'object',
            additionalProperties: false,
            properties: { oid: { type: 'string', pattern: OID }, name: { type: 'string', minLength: 1 } },
          },
          subjectAttributes: { type: 'array', items: attributeSchema },
          sanAttributes: { type: 'array', items: attributeSchema },
          sidAttribute: attributeSchema,
          seatId: {
            type: 'object',
            required: ['value', 'mandatory'],
            additionalProperties: false,
            properties: { value: { type: 'string', minLength: 1 }, mandatory: { type: 'boolean' } },
          },
        },
      },
    },
  },
};

interface ProfileFile {
  description?: string;
  profiles: SimulatorProfile[];
}

const ajv = new Ajv({ allErrors: true });
const validateProfileFile = ajv.compile<ProfileFile>(profileFileSchema);

export class ProfileFileError extends Error {
  constructor(source: string, problems: string[]) {
    super(`Simulator profiles from ${source} are invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ProfileFileError';
  }
}

/** Checks parsed JSON (an object with `profiles`, or a bare array of profiles) and returns the profiles. */
export function parseProfiles(json: unknown, source: string): SimulatorProfile[] {
  const document = Array.isArray(json) ? { profiles: json } : json;
  if (!validateProfileFile(document)) {
    const problems = (validateProfileFile.errors ?? []).map((error) => {
      const where = error.instancePath === '' ? '(top level)' : error.instancePath;
      const extra =
        error.keyword === 'additionalProperties' ? ` ("${String(error.params.additionalProperty)}")` : '';
      return `${where} ${error.message ?? 'is invalid'}${extra}`;
    });
    throw new ProfileFileError(source, problems);
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  document.profiles.forEach((profile, index) => {
    const where = `/profiles/${index} (${profile.profileOid})`;
    if (seen.has(profile.profileOid)) problems.push(`${where}: profileOid appears more than once`);
    seen.add(profile.profileOid);
    if (isEcProfile(profile) ? profile.keySize !== 256 : profile.keySize < 1024) {
      problems.push(
        `${where}/keySize: ${profile.keySize} does not fit the key algorithm (an EC profile: 256, for P-256; RSA: 1024 or more)`,
      );
    }
    checkAttributes(
      profile.subjectAttributes,
      SUBJECT_ATTRIBUTE_NAMES,
      `${where}/subjectAttributes`,
      problems,
    );
    checkAttributes(profile.sanAttributes, SAN_ATTRIBUTE_NAMES, `${where}/sanAttributes`, problems);
    profile.sanAttributes.forEach((attribute, i) => {
      if (
        attribute.attributeName.toLowerCase() === 'othername' &&
        !new RegExp(OID).test(attribute.type ?? '')
      ) {
        problems.push(`${where}/sanAttributes/${i}: an otherName needs its type-id OID in "type"`);
      }
    });
    const sid = profile.sidAttribute;
    if (sid !== undefined && sid.value.startsWith('$') && !VARIABLE.test(sid.value)) {
      problems.push(`${where}/sidAttribute: "${sid.value}" is not a valid $variable name`);
    }
    if (
      profile.seatId !== undefined &&
      profile.seatId.value.startsWith('$') &&
      !VARIABLE.test(profile.seatId.value)
    ) {
      problems.push(`${where}/seatId: "${profile.seatId.value}" is not a valid $variable name`);
    }
  });
  if (problems.length > 0) throw new ProfileFileError(source, problems);
  return document.profiles;
}

function checkAttributes(
  attributes: PolicyAttribute[],
  allowed: readonly string[],
  where: string,
  problems: string[],
): void {
  attributes.forEach((attribute, i) => {
    if (!allowed.some((name) => name.toLowerCase() === attribute.attributeName.toLowerCase())) {
      problems.push(
        `${where}/${i}: attributeName "${attribute.attributeName}" is not supported (use one of ${allowed.join(', ')})`,
      );
    }
    if (attribute.value.startsWith('$') && !VARIABLE.test(attribute.value)) {
      problems.push(`${where}/${i}: "${attribute.value}" is not a valid $variable name`);
    }
  });
}

/** Reads and checks a profile file; the error names the file and every bad entry. */
export function loadProfilesFile(file: string): SimulatorProfile[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ProfileFileError(file, [`cannot be read: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProfileFileError(file, [`is not valid JSON: ${(error as Error).message}`]);
  }
  return parseProfiles(json, file);
}

/** The profiles shipped beside the simulator (dev/simulator/profiles.json). */
export function defaultProfiles(): SimulatorProfile[] {
  // A deep copy, so one simulator's edits never leak into another's.
  return parseProfiles(structuredClone(defaultProfilesJson) as unknown, 'dev/simulator/profiles.json');
}

/** A variable name without its `$`, or `undefined` when the value is fixed. */
export function variableName(value: string): string | undefined {
  return VARIABLE.test(value) ? value.slice(1) : undefined;
}

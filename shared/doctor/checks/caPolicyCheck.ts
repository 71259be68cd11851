/** The policy of a configured profile OID at a CA host: can the broker fill every variable it asks for? */
import { BrokerError, DEFAULT_REMEDIES } from '../../contract/errors';
import { chooseKey, profileKeyAlgorithm } from '../../mapping';
import { policyCaCertificates } from '../caCertificates';
import { failureOutcome, withRow } from '../outcomes';
import { describeSidField, describeVariable, summarizeProfile, unfillableRemedy } from '../profileSummary';
import type { CheckOutcome, DoctorContext, JsonValue } from '../types';
import { endpointOf } from './caEndpoint';

export async function checkPolicy(
  context: DoctorContext,
  profileOid: string,
  host: string,
): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  const settings = context.settings!;
  let policy;
  try {
    policy = await context.caClient().getPolicy(endpoint.authority, profileOid);
  } catch (error) {
    return failureOutcome(error);
  }
  const summary = summarizeProfile(policy, settings.profileFieldMap);
  const cas = policyCaCertificates(policy);
  const name = policy.friendlyName === undefined ? `profile ${profileOid}` : `"${policy.friendlyName}"`;
  const notes = [
    ...summary.variables.map(describeVariable),
    ...summary.fixed.map((fixed) => `fixed: ${fixed}`),
    describeSidField(summary.sidField),
    ...cas.certificates.map(
      (certificate) =>
        `CA certificate (${certificate.role}): ${certificate.subject}, SHA-1 ${certificate.thumbprint}, until ${certificate.notAfter.toISOString().slice(0, 10)}`,
    ),
    ...cas.skipped.map((skipped) => `CA certificate skipped: ${skipped}`),
  ];
  const data: { [key: string]: JsonValue } = {
    profileOid,
    caHost: endpoint.authority,
    friendlyName: policy.friendlyName ?? null,
    keySize: policy.keySize ?? null,
    validityDays: policy.validityDays ?? null,
    variables: summary.variables.map((variable) => ({
      name: variable.name,
      mandatory: variable.mandatory,
      where: variable.where,
      source: variable.source ?? null,
      decidedBy: variable.decidedBy ?? null,
      brokerCanFill: variable.source !== undefined,
    })),
    sidField:
      summary.sidField === undefined
        ? null
        : { variable: summary.sidField.variable ?? null, mandatory: summary.sidField.mandatory },
    caCertificates: cas.certificates.map((certificate) => ({
      role: certificate.role,
      subject: certificate.subject,
      thumbprint: certificate.thumbprint,
    })),
  };
  const keyAlgorithm = profileKeyAlgorithm(policy);
  if (keyAlgorithm.kind === 'ec') data.keyAlgorithm = `EC ${keyAlgorithm.curve}`;
  if (summary.fieldMapError !== undefined) {
    return { ...failureOutcome(summary.fieldMapError, { notes }), data };
  }
  if (keyAlgorithm.kind === 'unsupported') {
    const refusal = keyRefusal(policy);
    if (refusal !== undefined) return { ...failureOutcome(refusal, { notes }), data };
  }
  if (summary.unfillable.length > 0) {
    const names = summary.unfillable.map((variable) => `$${variable.name}`).join(', ');
    return withRow(
      {
        status: 'fail',
        detail: `${name} requires ${names}, which the broker cannot fill from an Intune request: every request for it would fail with POLICY_MISMATCH`,
        notes,
        remedy: unfillableRemedy(summary.unfillable),
        errorCode: 'POLICY_MISMATCH',
        data,
      },
      { id: 'policy-verification' },
    );
  }
  const filled = summary.variables.filter((variable) => variable.source !== undefined).length;
  const facts = [
    `${summary.variables.length} variable(s), ${filled === summary.variables.length ? 'all' : filled} filled by the broker`,
    ...(keyAlgorithm.kind === 'ec'
      ? [`EC ${keyAlgorithm.curve} keys (a request's keySize does not apply)`]
      : policy.keySize === undefined
        ? []
        : [`key ${policy.keySize} bits`]),
    ...(policy.validityDays === undefined ? [] : [`${policy.validityDays} days`]),
    summary.sidField === undefined
      ? 'no SID field'
      : `SID field ${summary.sidField.mandatory ? 'mandatory' : 'optional'}`,
    `${cas.certificates.length} CA certificate(s)`,
  ].join(', ');
  if (summary.mailNameVariables.length > 0) {
    return withRow(
      {
        status: 'warn',
        detail: `${name}: ${facts}; it asks for ${summary.mailNameVariables.map((variable) => `$${variable}`).join(' and ')}, in which DigiCert refuses special characters such as "_": users with one in their name get no certificate (NAME_CHARACTERS_UNSUPPORTED)`,
        notes,
        remedy: DEFAULT_REMEDIES.NAME_CHARACTERS_UNSUPPORTED,
        errorCode: 'NAME_CHARACTERS_UNSUPPORTED',
        data,
      },
      { id: 'some-devices-no-certificates' },
    );
  }
  return { status: 'pass', detail: `${name}: ${facts}`, notes, data };
}

/** The POLICY_MISMATCH every request for a profile asking for a key the broker cannot generate would get. */
function keyRefusal(policy: Parameters<typeof chooseKey>[1]): BrokerError | undefined {
  try {
    chooseKey(undefined, policy);
    return undefined;
  } catch (error) {
    return error instanceof BrokerError ? error : undefined;
  }
}

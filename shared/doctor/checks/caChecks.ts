/**
 * Each allowed CA host, step by step as the broker meets it: DNS, TLS and mutual TLS
 * (caConnectionChecks.ts), the health operation (getStatus UP, here), and the policy of each configured
 * profile OID (caPolicyCheck.ts). This file names the checks and the order they depend on each other in.
 */
import { DEFAULT_REMEDIES } from '../../contract/errors';
import { caDownError } from '../../digicert/faults/answerContent';
import { failureOutcome } from '../outcomes';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types';
import { endpointOf } from './caEndpoint';
import { checkDns, checkMutualTls, checkTls } from './caConnectionChecks';
import { checkPolicy } from './caPolicyCheck';
import { RA_CERTIFICATE_CHECK_ID } from './raChecks';
import { SETTINGS_CHECK_ID } from './settingsCheck';

export const caDnsCheckId = (host: string): string => `ca-dns:${host}`;
export const caTlsCheckId = (host: string): string => `ca-tls:${host}`;
export const caMutualTlsCheckId = (host: string): string => `ca-mtls:${host}`;
export const caHealthCheckId = (host: string): string => `ca-health:${host}`;
export const policyCheckId = (profileOid: string, host: string): string => `policy:${profileOid}@${host}`;

/** The CA's health operation: getStatus UP, else CA_UNAVAILABLE with what the CA said. */
async function checkHealth(context: DoctorContext, host: string): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  try {
    const status = await context.caClient().getStatus(endpoint.authority);
    if (status.up) {
      return {
        status: 'pass',
        detail: `getStatus at ${endpoint.authority}: UP${status.message === '' ? '' : ` (${status.message})`}`,
        data: { up: true, message: status.message },
      };
    }
    const down = caDownError(
      { operation: 'getStatus', caHost: endpoint.authority, service: 'healthcheckService' },
      status.message,
    );
    return {
      status: 'fail',
      detail: down.message,
      remedy: DEFAULT_REMEDIES.CA_UNAVAILABLE,
      errorCode: down.code,
      data: { up: false, message: status.message },
    };
  } catch (error) {
    return failureOutcome(error);
  }
}

export function caHostChecks(host: string, options: { full: boolean }): DoctorCheck[] {
  const health: DoctorCheck = {
    id: caHealthCheckId(host),
    title: `CA health operation at ${host}`,
    needs: [SETTINGS_CHECK_ID, RA_CERTIFICATE_CHECK_ID, caTlsCheckId(host), caMutualTlsCheckId(host)],
    run: (context) => checkHealth(context, host),
  };
  if (!options.full) return [health];
  return [
    {
      id: caDnsCheckId(host),
      title: `DNS of CA host ${host}`,
      needs: [SETTINGS_CHECK_ID],
      run: (context) => checkDns(context, host),
    },
    {
      id: caTlsCheckId(host),
      title: `TLS to CA host ${host}`,
      needs: [SETTINGS_CHECK_ID, caDnsCheckId(host)],
      run: (context) => checkTls(context, host),
    },
    {
      id: caMutualTlsCheckId(host),
      title: `Mutual TLS with CA host ${host}`,
      needs: [SETTINGS_CHECK_ID, RA_CERTIFICATE_CHECK_ID, caTlsCheckId(host)],
      run: (context) => checkMutualTls(context, host),
    },
    health,
  ];
}

export function policyCheck(profileOid: string, host: string): DoctorCheck {
  return {
    id: policyCheckId(profileOid, host),
    title: `Policy of profile ${profileOid} at ${host}`,
    needs: [SETTINGS_CHECK_ID, RA_CERTIFICATE_CHECK_ID, caHealthCheckId(host)],
    run: (context) => checkPolicy(context, profileOid, host),
  };
}

/** Not a check of its own when PROFILE_OIDS names profiles; says why nothing is checked when it does not. */
export const noProfilesCheck: DoctorCheck = {
  id: 'policies',
  title: 'Profile policies',
  needs: [SETTINGS_CHECK_ID],
  run: () =>
    Promise.resolve({
      status: 'skip',
      detail:
        'PROFILE_OIDS is not set: no profile policy checked. Set it to the DigiCert profile OIDs of your Intune PKCS profiles (comma-separated) to have their variables checked.',
    }),
};

/**
 * The DigiCert PKI-WS client the pipeline uses (DigicertCa): policy (cached per CA host and profile for the
 * policy's nextUpdateHours), enrollment and health check, over the mutual-TLS transport.
 */
import { randomUUID } from 'node:crypto';
import type { DigicertCa, EnrollmentRequest, EnrollmentResponse, HealthStatus, ProfilePolicy } from './types';
import { CallContext, caDownError } from './faults';
import { buildRequestSecurityTokenEnvelope, parseRequestSecurityTokenResponse } from './enrollment';
import { buildGetStatusEnvelope, parseGetStatusResponse } from './health';
import { buildGetPoliciesEnvelope, parseGetPoliciesResponse } from './policy';
import { PkiWsService, SOAP_ACTIONS } from './soap';
import { PkiWsTransport, TransportOptions, resolveCaHost } from './transport';

export interface PkiWsClientOptions extends TransportOptions {
  /** Makes the clientTransactionID of policy and health calls (at most 40 characters). */
  newTransactionId?: () => string;
  /** Shortest time a policy is kept when nextUpdateHours > 0 (default 5 minutes); 0 means not kept at all. */
  minPolicyCacheMs?: number;
  /** Longest time a policy is kept (default 24 hours). */
  maxPolicyCacheMs?: number;
}

interface CachedPolicy {
  policy: ProfilePolicy;
  expiresAt: number;
}

const HOUR_MS = 3_600_000;

export class PkiWsClient implements DigicertCa {
  private readonly transport: PkiWsTransport;
  private readonly allowedHosts: readonly string[];
  private readonly now: () => number;
  private readonly newTransactionId: () => string;
  private readonly minPolicyCacheMs: number;
  private readonly maxPolicyCacheMs: number;
  private readonly policies = new Map<string, CachedPolicy>();
  private readonly policiesInFlight = new Map<string, Promise<ProfilePolicy>>();

  constructor(options: PkiWsClientOptions) {
    this.transport = new PkiWsTransport(options);
    this.allowedHosts = options.settings.caAllowedHosts;
    this.now = options.now ?? Date.now;
    this.newTransactionId = options.newTransactionId ?? randomUUID;
    this.minPolicyCacheMs = options.minPolicyCacheMs ?? 5 * 60_000;
    this.maxPolicyCacheMs = options.maxPolicyCacheMs ?? 24 * HOUR_MS;
  }

  async getPolicy(caHost: string, profileOid: string): Promise<ProfilePolicy> {
    const authority = resolveCaHost(caHost, this.allowedHosts).authority;
    const key = `${authority}|${profileOid}`;
    const cached = this.policies.get(key);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.policy;
    // Concurrent requests for the same profile share one call.
    const inFlight = this.policiesInFlight.get(key);
    if (inFlight !== undefined) return inFlight;
    const fetching = this.fetchPolicy(authority, profileOid)
      .then((policy) => {
        if (policy.nextUpdateHours > 0) {
          const lifetime = Math.min(
            this.maxPolicyCacheMs,
            Math.max(this.minPolicyCacheMs, policy.nextUpdateHours * HOUR_MS),
          );
          this.policies.set(key, { policy, expiresAt: this.now() + lifetime });
        } else {
          // nextUpdateHours 0: the profile is being edited, every request reads it afresh.
          this.policies.delete(key);
        }
        return policy;
      })
      .finally(() => this.policiesInFlight.delete(key));
    this.policiesInFlight.set(key, fetching);
    return fetching;
  }

  async enroll(caHost: string, request: EnrollmentRequest): Promise<EnrollmentResponse> {
    const context = this.context(caHost, 'requestSecurityToken', 'enrollmentService', request.profileOid);
    const envelope = buildRequestSecurityTokenEnvelope(request, context);
    const answer = await this.transport.call({
      ...context,
      soapAction: SOAP_ACTIONS.requestSecurityToken,
      envelope,
      profileOid: request.profileOid,
    });
    return parseRequestSecurityTokenResponse(answer.body, context);
  }

  async getStatus(caHost: string, profileOid?: string): Promise<HealthStatus> {
    const context = this.context(caHost, 'getStatus', 'healthcheckService', profileOid);
    const answer = await this.transport.call({
      ...context,
      soapAction: SOAP_ACTIONS.getStatus,
      envelope: buildGetStatusEnvelope(this.newTransactionId(), profileOid),
    });
    return parseGetStatusResponse(answer.body, context);
  }

  /** getStatus that throws BrokerError CA_UNAVAILABLE (retryable) when the CA reports itself DOWN. */
  async assertUp(caHost: string, profileOid?: string): Promise<HealthStatus> {
    const status = await this.getStatus(caHost, profileOid);
    if (!status.up) {
      throw caDownError(this.context(caHost, 'getStatus', 'healthcheckService', profileOid), status.message);
    }
    return status;
  }

  /** Forgets cached policies (all, or those of one CA host). */
  clearPolicyCache(caHost?: string): void {
    if (caHost === undefined) {
      this.policies.clear();
      return;
    }
    const authority = resolveCaHost(caHost, this.allowedHosts).authority;
    for (const key of this.policies.keys()) if (key.startsWith(`${authority}|`)) this.policies.delete(key);
  }

  /** Closes the connections to every CA. */
  close(): Promise<void> {
    return this.transport.close();
  }

  private async fetchPolicy(authority: string, profileOid: string): Promise<ProfilePolicy> {
    const context = this.context(authority, 'getPolicies', 'policyService', profileOid);
    const answer = await this.transport.call({
      ...context,
      soapAction: SOAP_ACTIONS.getPolicies,
      envelope: buildGetPoliciesEnvelope(profileOid, this.newTransactionId()),
    });
    return parseGetPoliciesResponse(answer.body, profileOid, context);
  }

  private context(
    caHost: string,
    operation: string,
    service: PkiWsService,
    profileOid?: string,
  ): CallContext {
    const context: CallContext = {
      operation,
      caHost: resolveCaHost(caHost, this.allowedHosts).authority,
      service,
    };
    if (profileOid !== undefined) context.profileOid = profileOid;
    return context;
  }
}

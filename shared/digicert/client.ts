/**
 * The DigiCert PKI-WS client the pipeline uses (DigicertCa): policy (cached per CA host and profile for the
 * policy's nextUpdateHours), enrollment, health check, certificate search and revocation, over the
 * mutual-TLS transport and its resilience policies.
 */
import { randomUUID } from 'node:crypto';
import { isBrokerError } from '../contract/errors';
import type {
  CaCertificateRecord,
  CertificateSearch,
  DigicertCa,
  EnrollmentRequest,
  EnrollmentResponse,
  HealthStatus,
  ProfilePolicy,
  RevocationReason,
} from './types';
import { caDownError, saysAlreadyRevoked, unexpectedAnswerError } from './faults/answerContent';
import { CallContext } from './faults/callContext';
import { buildRequestSecurityTokenEnvelope, parseRequestSecurityTokenResponse } from './enrollment';
import { buildGetStatusEnvelope, parseGetStatusResponse } from './health';
import {
  buildRevokeEnvelope,
  buildSearchCertificateEnvelope,
  normalizeSerialNumber,
  parseSearchCertificateResponse,
  parseUpdateCertificateStatusResponse,
} from './management';
import { buildGetPoliciesEnvelope, parseGetPoliciesResponse } from './policy';
import { SearchPaging, SearchPagingError } from './searchPaging';
import { PkiWsService, SOAP_ACTIONS } from './soap';
import { CircuitStatus } from './resilience';
import { PkiWsTransport, TransportOptions, resolveCaHost } from './transport';

export interface PkiWsClientOptions extends TransportOptions {
  /** Most certificates one searchCertificates collects before it refuses (default 10,000). */
  maxSearchResults?: number;
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
  private readonly maxSearchResults: number;
  private readonly policies = new Map<string, CachedPolicy>();
  private readonly policiesInFlight = new Map<string, Promise<ProfilePolicy>>();

  constructor(options: PkiWsClientOptions) {
    this.transport = new PkiWsTransport(options);
    this.allowedHosts = options.settings.caAllowedHosts;
    this.now = options.now ?? Date.now;
    this.newTransactionId = options.newTransactionId ?? randomUUID;
    this.minPolicyCacheMs = options.minPolicyCacheMs ?? 5 * 60_000;
    this.maxPolicyCacheMs = options.maxPolicyCacheMs ?? 24 * HOUR_MS;
    this.maxSearchResults = options.maxSearchResults ?? 10_000;
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

  /**
   * Sends one enrollment. Retried only while it certainly did not reach the CA; a failure after it was sent
   * is a BrokerError with `ambiguous: true` (the CA may have issued: ask searchCertificates first).
   */
  async enroll(caHost: string, request: EnrollmentRequest): Promise<EnrollmentResponse> {
    const context = this.context(caHost, 'requestSecurityToken', 'enrollmentService', request.profileOid);
    const envelope = buildRequestSecurityTokenEnvelope(request, context);
    const answer = await this.transport.call({
      ...context,
      soapAction: SOAP_ACTIONS.requestSecurityToken,
      envelope,
      profileOid: request.profileOid,
      idempotent: false,
    });
    return parseRequestSecurityTokenResponse(answer.body, context);
  }

  /**
   * Every certificate matching the search, page by page, each serial once (see SearchPaging: right whether
   * the CA counts startIndex from 0 or 1). Serial numbers come back as upper-case hex without leading zeros,
   * statuses in upper case.
   */
  async searchCertificates(caHost: string, search: CertificateSearch): Promise<CaCertificateRecord[]> {
    const context = this.context(
      caHost,
      'searchCertificate',
      'certificateManagementService',
      search.profileOid,
    );
    const paging = new SearchPaging(this.maxSearchResults);
    for (;;) {
      const answer = await this.transport.call({
        ...context,
        soapAction: SOAP_ACTIONS.searchCertificate,
        envelope: buildSearchCertificateEnvelope(
          search,
          paging.nextStartIndex,
          this.newTransactionId(),
          context,
        ),
      });
      const page = parseSearchCertificateResponse(answer.body, context);
      try {
        if (!paging.accept(page)) return paging.records;
      } catch (error) {
        if (error instanceof SearchPagingError) throw unexpectedAnswerError(context, error.message);
        throw error;
      }
    }
  }

  /**
   * Revokes one certificate by serial number. A CA that says the certificate is revoked already counts as
   * done (a retried revoke, or one made by an earlier attempt).
   */
  async revokeCertificate(
    caHost: string,
    serialNumber: string,
    reason: RevocationReason,
    comment?: string,
  ): Promise<void> {
    const context = this.context(caHost, 'updateCertificateStatus', 'certificateManagementService');
    const revocation = comment === undefined ? { serialNumber, reason } : { serialNumber, reason, comment };
    const envelope = buildRevokeEnvelope(revocation, this.newTransactionId(), context);
    try {
      const answer = await this.transport.call({
        ...context,
        soapAction: SOAP_ACTIONS.updateCertificateStatus,
        envelope,
      });
      parseUpdateCertificateStatusResponse(
        answer.body,
        context,
        normalizeSerialNumber(serialNumber) ?? serialNumber,
      );
    } catch (error) {
      if (isBrokerError(error) && saysAlreadyRevoked(error)) return;
      throw error;
    }
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

  /** The circuit breaker's state for a CA host (closed, open, half-open). */
  circuitStatus(caHost: string): CircuitStatus {
    return this.transport.circuitStatus(caHost);
  }

  /** CA calls running and waiting for a slot in this process now (the CA_MAX_CONCURRENCY bulkhead). */
  load(): { running: number; queued: number } {
    return this.transport.load();
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

/**
 * One request's way through the broker: validate → recipient → policy → mapping → key and CSR → enroll →
 * chain → PFX → result. Orchestration only: protocol, mapping and crypto details live in their modules.
 *
 * Every message ends as exactly one result, except a transient failure (CA down, timeout, Key Vault
 * unreachable) while the queue still has deliveries left: then `retry` tells the trigger to let the message
 * be delivered again, and the request waits in the queue instead of failing.
 */
import { randomUUID } from 'node:crypto';
import type { BrokerSettings } from './config/settings';
import { BrokerError, isBrokerError } from './contract/errors';
import type { FailedResult, IssuedResult, PkcsRequest, PkcsResult } from './contract/types';
import {
  parseRequestMessage,
  readContextLoosely,
  readRequestIdLoosely,
  validateResult,
} from './contract/validate';
import {
  buildPfx,
  caCertificatesOfPolicy,
  createCsr,
  createPfxPassword,
  encryptPasswordForRecipient,
  generateKeyPair,
  parseIssuedToken,
  parseRecipientCertificate,
  summarizeCertificate,
} from './crypto';
import type { DigicertCa } from './digicert/types';
import { parseSubjectName, planEnrollment } from './mapping';
import type { Telemetry } from './telemetry/telemetry';

export interface Delivery {
  /** How many times the queue has handed this message out, this time included (1 on first delivery). */
  dequeueCount: number;
}

export type PipelineOutcome =
  { kind: 'result'; result: PkcsResult } | { kind: 'retry'; error: BrokerError; requestId: string | null };

export interface PipelineDependencies {
  settings: BrokerSettings;
  ca: DigicertCa;
  telemetry: Telemetry;
  now?: () => Date;
}

export class CertificatePipeline {
  private readonly now: () => Date;

  constructor(private readonly deps: PipelineDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  async process(message: unknown, delivery: Delivery): Promise<PipelineOutcome> {
    const started = Date.now();
    let request: PkcsRequest | undefined;
    try {
      request = parseRequestMessage(message, { caAllowedHosts: this.deps.settings.caAllowedHosts });
      const result = await this.issue(request);
      this.deps.telemetry.trackRequest({
        requestId: request.requestId,
        profileOid: request.certificateTemplateName,
        caHost: request.certificateAuthority,
        outcome: 'issued',
        durationMs: Date.now() - started,
        dequeueCount: delivery.dequeueCount,
        certificateSerial: result.certificate.serialNumber,
        subjectIdentity: identityOf(request),
      });
      return { kind: 'result', result };
    } catch (caught) {
      const error = toBrokerError(caught);
      const requestId = request?.requestId ?? readRequestIdLoosely(message);
      const willRetry = error.retryable && delivery.dequeueCount < this.deps.settings.maxDequeueCount;
      this.deps.telemetry.trackRequest({
        requestId,
        profileOid: request?.certificateTemplateName,
        caHost: request?.certificateAuthority,
        outcome: willRetry ? 'retrying' : 'failed',
        errorCode: error.code,
        durationMs: Date.now() - started,
        dequeueCount: delivery.dequeueCount,
        subjectIdentity: request === undefined ? undefined : identityOf(request),
      });
      if (willRetry) return { kind: 'retry', error, requestId };
      const reported = error.retryable ? gaveUp(error, delivery.dequeueCount) : error;
      const context = request?.context ?? readContextLoosely(message);
      return { kind: 'result', result: this.failure(reported, requestId, context) };
    }
  }

  /**
   * A message the queue gave up on (it landed on the poison queue because every delivery failed without
   * producing a result, e.g. the host died mid-request): it still ends as one failed result.
   */
  poisoned(message: unknown): FailedResult {
    const requestId = readRequestIdLoosely(message);
    const error = new BrokerError(
      'GAVE_UP',
      `The request was delivered ${this.deps.settings.maxDequeueCount} times and no delivery completed (the broker failed or was stopped while handling it), so it was moved to the poison queue.`,
      { retryable: false },
    );
    this.deps.telemetry.trackRequest({ requestId, outcome: 'failed', errorCode: error.code, durationMs: 0 });
    return this.failure(error, requestId, readContextLoosely(message));
  }

  private async issue(request: PkcsRequest): Promise<IssuedResult> {
    const { settings, ca } = this.deps;
    const recipient = parseRecipientCertificate(request.recipientCertificate, this.now());
    const policy = await ca.getPolicy(request.certificateAuthority, request.certificateTemplateName);
    const plan = planEnrollment(request, policy, { fieldMap: settings.profileFieldMap });

    const keys = await generateKeyPair(plan.keySize);
    const csrDer = createCsr(plan, keys);
    const response = await ca.enroll(request.certificateAuthority, {
      profileOid: request.certificateTemplateName,
      clientTransactionId: randomUUID(),
      csrDer,
      nameValuePairs: plan.nameValuePairs,
    });
    const { leafPem, chainPem } = parseIssuedToken(response, keys.publicKey, caCertificatesOfPolicy(policy.cas));

    const password = createPfxPassword();
    const pfx = buildPfx({
      privateKey: keys.privateKey,
      leafPem,
      chainPem,
      password,
      encryption: settings.pfxEncryption,
    });
    const result: IssuedResult = {
      schemaVersion: 1,
      requestId: request.requestId,
      status: 'issued',
      completedAt: this.now().toISOString(),
      certificate: summarizeCertificate(leafPem, chainPem),
      pfx: { data: pfx.toString('base64'), password: encryptPasswordForRecipient(password, recipient) },
      ...(request.context === undefined ? {} : { context: request.context }),
    };
    assertPublishable(result);
    return result;
  }

  private failure(
    error: BrokerError,
    requestId: string | null,
    context: Record<string, unknown> | undefined,
  ): FailedResult {
    const result: FailedResult = {
      schemaVersion: 1,
      requestId,
      status: 'failed',
      completedAt: this.now().toISOString(),
      error: {
        code: error.code,
        message: error.message,
        remedy: error.remedy,
        retryable: error.retryable,
        ...(error.caMessage === undefined ? {} : { caMessage: error.caMessage }),
      },
      ...(context === undefined ? {} : { context }),
    };
    assertPublishable(result);
    return result;
  }
}

/** The user or device a request is for (an e-mail address or UPN), for correlating telemetry. */
function identityOf(request: PkcsRequest): string | undefined {
  const san = request.subjectAlternativeNames?.find(
    (entry) => entry.type !== 'AltNameTypeOtherName' && entry.value,
  );
  if (san) return san.value;
  try {
    return parseSubjectName(request.subjectName).email;
  } catch {
    return undefined;
  }
}

/** A result that breaks our own published schema is a bug: fail loudly rather than send it downstream. */
function assertPublishable(result: PkcsResult): void {
  const check = validateResult(result);
  if (!check.valid)
    throw new Error(`internal error: result does not match result.v1 schema: ${check.errors.join('; ')}`);
}

/**
 * Anything that is not a BrokerError is an unforeseen condition: it may pass, so the request is delivered
 * again like any transient failure, and never lost.
 */
function toBrokerError(caught: unknown): BrokerError {
  if (isBrokerError(caught)) return caught;
  const detail = caught instanceof Error ? caught.message : String(caught);
  return new BrokerError('GAVE_UP', `The broker failed unexpectedly: ${detail}`, {
    remedy: 'This is an unexpected internal failure; report it with the requestId to the broker operators.',
    retryable: true,
    cause: caught,
  });
}

/** A transient failure that outlasted every delivery of the message is reported as GAVE_UP with its cause. */
function gaveUp(last: BrokerError, deliveries: number): BrokerError {
  if (last.code === 'GAVE_UP')
    return new BrokerError('GAVE_UP', last.message, { remedy: last.remedy, retryable: false });
  return new BrokerError(
    'GAVE_UP',
    `Gave up after ${deliveries} deliveries of the message; the last error was ${last.code}: ${last.message}`,
    { remedy: last.remedy, retryable: false, caMessage: last.caMessage, cause: last },
  );
}

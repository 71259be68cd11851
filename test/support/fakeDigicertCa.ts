/**
 * A DigiCert CA in memory, for unit tests of the pipelines: it issues real certificates (the simulator's
 * issuer and enrollment rules, without SOAP or TLS), keeps them for searches and revocations, and can be told
 * to fail an operation with a chosen BrokerError or to lose an enrollment's answer — issuing now, later
 * (`issueLate`) or never, and throwing the ambiguous error a timeout after sending is.
 */
import { BrokerError } from '../../shared/contract/errors';
import type {
  CaCertificateRecord,
  CertificateSearch,
  DigicertCa,
  EnrollmentRequest,
  EnrollmentResponse,
  HealthStatus,
  ProfilePolicy,
  RevocationReason,
} from '../../shared/digicert/types';
import { createCertificate, type TestCertificate } from '../../dev/pki/certificates';
import { decideEnrollment } from '../../dev/simulator/enrollment';
import { issueCertificate, prepareIssuingAuthority, type IssuingAuthority } from '../../dev/simulator/issuer';
import {
  defaultProfiles,
  withEcAlgorithmReading,
  type EcAlgorithmReading,
  type SimulatorProfile,
} from '../../dev/simulator/profiles';

export type CaOperation = 'getPolicy' | 'enroll' | 'getStatus' | 'searchCertificates' | 'revokeCertificate';

/** What becomes of an enrollment whose answer is lost: the CA issued before, issues later, or never. */
export type LostAnswer = 'issued' | 'issues-late' | 'never-issued';

export interface FakeCertificate {
  serialNumber: string;
  der: Buffer;
  status: 'VALID' | 'REVOKED';
  seatId?: string;
  profileOid: string;
  revocation?: { reason: RevocationReason; comment?: string };
}

export class FakeDigicertCa implements DigicertCa {
  /** Every certificate issued, in order. */
  readonly issued: FakeCertificate[] = [];
  /** Every call, in order, as `operation caHost`. */
  readonly calls: string[] = [];
  private readonly failures = new Map<CaOperation, BrokerError[]>();
  private readonly lostAnswers: (LostAnswer | 'hangs')[] = [];
  private readonly late: (() => void)[] = [];
  /** Resolved when a hanging enrollment has been issued (hangNextEnrollment's promise). */
  private readonly hung: (() => void)[] = [];
  /** Enrollments whose answer waits for the test (holdNextEnrollment). */
  private readonly holds: { reached: () => void; released: Promise<void> }[] = [];
  private readonly profiles: SimulatorProfile[] = defaultProfiles();
  private readonly authority: IssuingAuthority;

  private constructor(
    readonly root: TestCertificate,
    readonly issuing: TestCertificate,
  ) {
    this.authority = prepareIssuingAuthority(
      { certPem: issuing.certPem, keyPem: issuing.keyPem! },
      { certPem: root.certPem },
    );
  }

  /** A CA with a root and an issuing CA of its own (two RSA keys: create it once per test file). */
  static create(): FakeDigicertCa {
    const root = createCertificate({
      subject: [{ shortName: 'CN', value: 'Fake DigiCert Root' }],
      isCa: true,
    });
    const issuing = createCertificate({
      subject: [{ shortName: 'CN', value: 'Fake DigiCert Issuing CA' }],
      issuer: root,
      isCa: true,
    });
    return new FakeDigicertCa(root, issuing);
  }

  /** What the EC profiles' algorithmOIDReference names from now on (the simulator's ecAlgorithmReading). */
  useEcAlgorithmReading(reading: EcAlgorithmReading): void {
    this.profiles.splice(0, this.profiles.length, ...withEcAlgorithmReading(this.profiles, reading));
  }

  /** Forgets every certificate, call and scripted failure (between tests). */
  reset(): void {
    this.issued.length = 0;
    this.calls.length = 0;
    this.failures.clear();
    this.lostAnswers.length = 0;
    this.late.length = 0;
    this.hung.length = 0;
    this.holds.length = 0;
  }

  /** The next calls of `operation` fail with `errors`, one each, in order; later calls succeed again. */
  failNext(operation: CaOperation, ...errors: BrokerError[]): void {
    this.failures.set(operation, [...(this.failures.get(operation) ?? []), ...errors]);
  }

  /** The next enrollment's answer is lost (an ambiguous CA_TIMEOUT); `outcome` says what the CA did. */
  loseNextAnswer(outcome: LostAnswer): void {
    this.lostAnswers.push(outcome);
  }

  /** The next enrollment is issued, and its call never returns: the delivery that sent it died waiting. */
  hangNextEnrollment(): Promise<void> {
    this.lostAnswers.push('hangs');
    return new Promise((resolve) => this.hung.push(resolve));
  }

  /**
   * A slow CA: the next enrollment is issued at once, and its answer is sent when the test calls `answer()`.
   * `sent` resolves once the enrollment has reached the CA.
   */
  holdNextEnrollment(): { sent: Promise<void>; answer: () => void } {
    let reached!: () => void;
    let answer!: () => void;
    const sent = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (answer = resolve));
    this.holds.push({ reached, released });
    return { sent, answer };
  }

  /** Issues the certificates of lost answers that were to come late. */
  issueLate(): void {
    for (const issue of this.late.splice(0)) issue();
  }

  /** How many certificates of a seat are VALID and REVOKED. */
  seat(seatId: string): { valid: number; revoked: number } {
    const own = this.issued.filter(
      (certificate) => certificate.seatId?.toLowerCase() === seatId.toLowerCase(),
    );
    return {
      valid: own.filter((certificate) => certificate.status === 'VALID').length,
      revoked: own.filter((certificate) => certificate.status === 'REVOKED').length,
    };
  }

  async getPolicy(caHost: string, profileOid: string): Promise<ProfilePolicy> {
    this.called('getPolicy', caHost);
    const profile = this.profile(profileOid);
    return { ...structuredClone(profile), cas: [] };
  }

  async enroll(caHost: string, request: EnrollmentRequest): Promise<EnrollmentResponse> {
    this.called('enroll', caHost);
    const issue = (): Buffer => this.issue(request);
    const hold = this.holds.shift();
    if (hold) {
      const tokenDer = issue();
      hold.reached();
      await hold.released;
      return { tokenDer, tokenType: 'PKCS7' };
    }
    const lost = this.lostAnswers.shift();
    // Answered as the CA's PKCS7 delivery format does: the leaf, the issuing CA and the root.
    if (lost === undefined) return { tokenDer: issue(), tokenType: 'PKCS7' };
    if (lost === 'issued' || lost === 'hangs') issue();
    if (lost === 'hangs') {
      this.hung.shift()?.();
      return new Promise<never>(() => undefined);
    }
    if (lost === 'issues-late') this.late.push(() => void issue());
    throw new BrokerError(
      'CA_TIMEOUT',
      `The fake CA sent no answer to enrollment ${request.clientTransactionId}.`,
      {
        ambiguous: true,
      },
    );
  }

  async getStatus(caHost: string): Promise<HealthStatus> {
    this.called('getStatus', caHost);
    return { up: true, message: 'fake CA up' };
  }

  async searchCertificates(caHost: string, search: CertificateSearch): Promise<CaCertificateRecord[]> {
    this.called('searchCertificates', caHost);
    return this.issued
      .filter(
        (certificate) =>
          (search.serialNumber === undefined || certificate.serialNumber === search.serialNumber) &&
          (search.seatId === undefined ||
            certificate.seatId?.toLowerCase() === search.seatId.toLowerCase()) &&
          (search.profileOid === undefined || certificate.profileOid === search.profileOid) &&
          (search.status === undefined || certificate.status === search.status),
      )
      .map((certificate) => ({
        serialNumber: certificate.serialNumber,
        certificateDer: certificate.der,
        status: certificate.status,
        profileOid: certificate.profileOid,
        ...(certificate.seatId === undefined ? {} : { seatId: certificate.seatId }),
      }));
  }

  async revokeCertificate(
    caHost: string,
    serialNumber: string,
    reason: RevocationReason,
    comment?: string,
  ): Promise<void> {
    this.called('revokeCertificate', caHost);
    const certificate = this.issued.find((candidate) => candidate.serialNumber === serialNumber);
    if (certificate === undefined) {
      throw new BrokerError('CERTIFICATE_NOT_FOUND', `The fake CA has no certificate ${serialNumber}.`);
    }
    certificate.status = 'REVOKED';
    certificate.revocation = { reason, ...(comment === undefined ? {} : { comment }) };
  }

  private called(operation: CaOperation, caHost: string): void {
    this.calls.push(`${operation} ${caHost}`);
    const failure = this.failures.get(operation)?.shift();
    if (failure !== undefined) throw failure;
  }

  private profile(profileOid: string): SimulatorProfile {
    const profile = this.profiles.find((candidate) => candidate.profileOid === profileOid);
    if (profile === undefined) {
      throw new BrokerError('PROFILE_NOT_FOUND', `The fake CA has no certificate profile ${profileOid}.`);
    }
    return profile;
  }

  /** Issues a certificate for the request and returns its PKCS#7 chain. */
  private issue(request: EnrollmentRequest): Buffer {
    const profile = this.profile(request.profileOid);
    const decision = decideEnrollment(
      {
        profileOid: request.profileOid,
        clientTransactionId: request.clientTransactionId,
        requestType: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue',
        version: '1.0',
        csrToken: request.csrDer.toString('base64'),
        nameValuePairs: request.nameValuePairs,
      },
      profile,
    );
    const chain = issueCertificate(decision.issue, this.authority);
    const certificate: FakeCertificate = {
      serialNumber: chain.serialNumber,
      der: chain.leafDer,
      status: 'VALID',
      profileOid: request.profileOid,
      ...(decision.seatId === undefined ? {} : { seatId: decision.seatId }),
    };
    this.issued.push(certificate);
    return chain.pkcs7Der;
  }
}

/**
 * The simulator's answers against the vendor XSDs (xmllint, offline catalog): if the simulator drifts from
 * the wire format, the broker's tests against it stop meaning anything.
 */
import { randomBytes } from 'node:crypto';
import type { Agent } from 'undici';
import type { DevPki } from '../../../dev/pki/devPki';
import { startPkiWsSimulator, type Simulator, type SimulatorService } from '../../../dev/simulator/server';
import { describeWithTeamShared, teamSharedPath } from '../../support/teamShared';
import {
  DEVICE_PROFILE,
  UNKNOWN_PROFILE,
  USER_PROFILE,
  csrBase64,
  enrollmentRequestXml,
  guidOctetStringDer,
  healthRequestXml,
  managementRequestXml,
  policyRequestXml,
  post,
  rsaKey,
  run,
  soapBody,
  startSimulatorSession,
  textOf,
  type XmlObject,
  type SimulatorSession,
} from './simulatorClient';

const schema = (relative: string): string => teamSharedPath('reference', 'pki-ws', relative);
const POLICY_XSD = 'policy/CertificateEnrollmentPolicy.xsd';
const TRUST_XSD = 'enrollment/ws-trust-1.3-verisign.xsd';
const SOAP_XSD = 'imports/soap-1.1-envelope.xsd';
const HEALTH_XSD = 'healthcheck/HealthcheckService.xsd';
const MANAGEMENT_XSD = 'certificatemanagement/CertificateManagementService.xsd';

/** Cuts the SOAP Body's first element out of an envelope and validates it on its own, as imports/README.md says. */
async function validateBodyChild(envelope: string, xsd: string): Promise<{ valid: boolean; errors: string }> {
  const extracted = await run(
    'xmllint',
    ['--xpath', '/*[local-name()="Envelope"]/*[local-name()="Body"]/*', '-'],
    envelope,
  );
  if (extracted.code !== 0) return { valid: false, errors: `xpath: ${extracted.stderr}` };
  const result = await run(
    'xmllint',
    ['--nonet', '--noout', '--schema', schema(xsd), '-'],
    extracted.stdout,
    {
      XML_CATALOG_FILES: schema('imports/catalog.xml'),
    },
  );
  return { valid: result.code === 0, errors: result.stderr };
}

async function expectValid(envelope: string, xsd: string): Promise<void> {
  const result = await validateBodyChild(envelope, xsd);
  if (!result.valid)
    throw new Error(`not valid against ${xsd}:\n${result.errors}\n${envelope.slice(0, 2000)}`);
}

describeWithTeamShared('simulator answers against the vendor XSDs', () => {
  let session: SimulatorSession;
  let pki: DevPki;
  let simulator: Simulator;
  let agent: Agent;
  let csr: string;
  const ask = (service: SimulatorService, xml: string): Promise<string> =>
    post(simulator, agent, service, xml).then((answer) => answer.body);
  const userPairs: [string, string][] = [
    ['seat_id', 'iwuser0@contoso.com'],
    ['common_name', 'IW User 0'],
    ['mail_email', 'iwuser0@contoso.com'],
    ['otherNameUPN', 'iwuser0@contoso.onmicrosoft.com'],
    ['otherNameGUID', guidOctetStringDer(randomBytes(16)).toString('base64')],
  ];

  beforeAll(async () => {
    session = await startSimulatorSession('simulator-xsd-');
    ({ pki, simulator, agent } = session);
    csr = csrBase64(rsaKey(2048));
  });

  afterAll(() => session?.close());

  it('getPoliciesResponse for every profile and for one profile follows CertificateEnrollmentPolicy.xsd', async () => {
    await expectValid(await ask('policyService', policyRequestXml([])), POLICY_XSD);
    await expectValid(await ask('policyService', policyRequestXml([DEVICE_PROFILE])), POLICY_XSD);
  });

  it('the check itself fails on an answer that breaks the schema', async () => {
    const answer = await ask('policyService', policyRequestXml([USER_PROFILE]));
    const broken = answer.replace(/<serverTransactionID>[^<]*<\/serverTransactionID>/, '');
    expect(broken).not.toBe(answer);
    const result = await validateBodyChild(broken, POLICY_XSD);
    expect(result.valid).toBe(false);
    expect(result.errors).toMatch(/response.*serverTransactionID|serverTransactionID.*expected/s);
  });

  it('RequestSecurityTokenResponse follows ws-trust-1.3-verisign.xsd (with VS_WSTEP.xsd)', async () => {
    const answer = await ask(
      'enrollmentService',
      enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs }),
    );
    expect(soapBody(answer).name).toBe('RequestSecurityTokenResponse');
    await expectValid(answer, TRUST_XSD);
  });

  it('faults follow the SOAP 1.1 envelope schema', async () => {
    const unknown = await ask('policyService', policyRequestXml([UNKNOWN_PROFILE]));
    const missing = await ask(
      'enrollmentService',
      enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs.slice(0, 2) }),
    );
    simulator.faults.enqueue({
      kind: 'soapFault',
      faultcode: 'soap:Server',
      faultstring: 'scripted <&> fault',
      message: 'a "quoted" detail',
    });
    const scripted = await ask('healthcheckService', healthRequestXml());
    for (const answer of [unknown, missing, scripted]) {
      expect(soapBody(answer).name).toBe('Fault');
      await expectValid(answer, SOAP_XSD);
    }
    expect(textOf(soapBody(scripted).value.faultstring)).toBe('scripted <&> fault');
    expect(textOf(soapBody(scripted).value.faultcode)).toBe('soapenv:Server');
  });

  it('getStatusResponseMessage (UP and DOWN) follows HealthcheckService.xsd', async () => {
    await expectValid(await ask('healthcheckService', healthRequestXml(USER_PROFILE)), HEALTH_XSD);
    simulator.setHealth('DOWN');
    await expectValid(await ask('healthcheckService', healthRequestXml()), HEALTH_XSD);
    simulator.setHealth('UP');
  });

  it('updateCertificateStatusResponse and searchCertificateResponse follow CertificateManagementService.xsd', async () => {
    await ask('enrollmentService', enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs }));
    await ask('enrollmentService', enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs }));
    const serial = simulator.issued[0]!.serialNumber;
    const revoke = await ask(
      'certificateManagementService',
      managementRequestXml('updateCertificateStatusRequest', [
        ['clientTransactionID', 'tx-revoke-1'],
        ['version', '1.0'],
        ['revocationReason', 'Superseded'],
        ['comment', 'replaced'],
        ['certificateSerialNumber', serial],
        ['operationType', 'Revoke'],
      ]),
    );
    await expectValid(revoke, MANAGEMENT_XSD);
    const search = await ask(
      'certificateManagementService',
      managementRequestXml('searchCertificateRequest', [
        ['seatId', 'iwuser0@contoso.com'],
        ['version', '1.0'],
      ]),
    );
    const list = (soapBody(search).value.certificateList as XmlObject).certificateInformation as XmlObject[];
    const statuses = list.map((entry) => textOf(entry.status));
    expect(statuses).toHaveLength(simulator.issued.length);
    expect(statuses.filter((status) => status === 'REVOKED')).toHaveLength(1);
    await expectValid(search, MANAGEMENT_XSD);
    await expectValid(
      await ask(
        'certificateManagementService',
        managementRequestXml('searchCertificateRequest', [
          ['seatId', 'nobody'],
          ['version', '1.0'],
        ]),
      ),
      MANAGEMENT_XSD,
    );
  });

  it('paged, filtered and status-changed management answers (and the requests for them) follow the XSD', async () => {
    const paged = await startPkiWsSimulator({ pki, searchPageSize: 1 });
    try {
      const askPaged = (xml: string): Promise<string> =>
        post(paged, agent, 'certificateManagementService', xml).then((answer) => answer.body);
      for (let i = 0; i < 2; i += 1) {
        const enrolled = await post(
          paged,
          agent,
          'enrollmentService',
          enrollmentRequestXml({ profileOid: USER_PROFILE, csr, pairs: userPairs }),
        );
        expect(enrolled.status).toBe(200);
      }
      const [first, second] = paged.issued;
      // Children in the order of SearchCertificateRequestType.
      const firstPage = await askPaged(
        managementRequestXml('searchCertificateRequest', [
          ['clientTransactionID', 'tx-search-1'],
          ['seatId', 'iwuser0@contoso.com'],
          ['profileOID', USER_PROFILE],
          ['status', 'VALID'],
          ['startIndex', '1'],
          ['version', '1.0'],
        ]),
      );
      expect(textOf(soapBody(firstPage).value.moreCertificateAvailable)).toBe('true');
      await expectValid(firstPage, MANAGEMENT_XSD);

      const suspend = await askPaged(
        managementRequestXml('updateCertificateStatusRequest', [
          ['version', '1.0'],
          ['certificateSerialNumber', first!.serialNumber],
          ['operationType', 'Suspend'],
        ]),
      );
      await expectValid(suspend, MANAGEMENT_XSD);
      const suspended = await askPaged(
        managementRequestXml('searchCertificateRequest', [
          ['seatId', 'iwuser0@contoso.com'],
          ['status', 'SUSPENDED'],
          ['version', '1.0'],
        ]),
      );
      const information = (soapBody(suspended).value.certificateList as XmlObject)
        .certificateInformation as XmlObject[];
      expect(information.map((entry) => textOf(entry.serialNumber))).toEqual([first!.serialNumber]);
      expect(textOf(information[0]!.revokeReason)).toBe('Unspecified');
      await expectValid(suspended, MANAGEMENT_XSD);

      const revokeSeat = await askPaged(
        managementRequestXml('updateCertificateStatusRequest', [
          ['clientTransactionID', 'tx-revoke-seat'],
          ['version', '1.0'],
          ['revocationReason', 'Superseded'],
          ['comment', 'replaced by a newer certificate'],
          ['seatId', 'iwuser0@contoso.com'],
          ['operationType', 'Revoke'],
        ]),
      );
      expect(textOf(soapBody(revokeSeat).value.revocationCount)).toBe('2');
      await expectValid(revokeSeat, MANAGEMENT_XSD);
      expect(paged.issued.map((certificate) => [certificate.status, certificate.revocationReason])).toEqual([
        ['REVOKED', 'Superseded'],
        ['REVOKED', 'Superseded'],
      ]);
      const lastPage = await askPaged(
        managementRequestXml('searchCertificateRequest', [
          ['seatId', 'iwuser0@contoso.com'],
          ['status', 'REVOKED'],
          ['startIndex', '2'],
          ['version', '1.0'],
        ]),
      );
      const last = soapBody(lastPage).value;
      expect(textOf(last.moreCertificateAvailable)).toBe('false');
      expect(
        textOf(((last.certificateList as XmlObject).certificateInformation as XmlObject[])[0]!.serialNumber),
      ).toBe(second!.serialNumber);
      await expectValid(lastPage, MANAGEMENT_XSD);

      for (const received of paged.received) {
        await expectValid(
          received.body,
          received.service === 'enrollmentService' ? TRUST_XSD : MANAGEMENT_XSD,
        );
      }
    } finally {
      await paged.close();
    }
  });

  it('the requests recorded in `received` can be checked the same way (the use they are kept for)', async () => {
    const xsdOf: Record<SimulatorService, string> = {
      policyService: POLICY_XSD,
      enrollmentService: TRUST_XSD,
      healthcheckService: HEALTH_XSD,
      certificateManagementService: MANAGEMENT_XSD,
    };
    expect(simulator.received.length).toBeGreaterThan(5);
    for (const received of simulator.received) {
      if (received.service === 'unknown') throw new Error(`unexpected request to ${received.path}`);
      await expectValid(received.body, xsdOf[received.service]);
    }
  });
});

/**
 * certificateManagementService as the broker's reconciliation uses it: searchCertificate by seat and profile
 * (and status), paged, returning each certificate's DER so the client can match its public key; and
 * updateCertificateStatus revoking a stray with reason Superseded. Plus the account audit of the soak test.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import forge from 'node-forge';
import type { Agent } from 'undici';
import type { AccountAudit, Simulator } from '../../../dev/simulator/server';
import {
  NAME_PROFILE,
  USER_PROFILE,
  admin,
  csrBase64,
  enrollmentRequestXml,
  fault,
  managementRequestXml,
  post,
  rsaKey,
  soapBody,
  startSimulatorSession,
  textOf,
  type TestKey,
  type XmlObject,
  type SimulatorSession,
} from './simulatorClient';

let session: SimulatorSession;
let simulator: Simulator;
let agent: Agent;
let keys: TestKey[];

const SEAT_A = 'Alex.Wilber@contoso.com';
const SEAT_B = 'megan@contoso.com';

function spki(key: TestKey): string {
  return createPublicKey(forge.pki.publicKeyToPem(key.publicKey))
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
}

async function enroll(profileOid: string, seat: string, key: TestKey): Promise<string> {
  const pairs: [string, string][] =
    profileOid === NAME_PROFILE
      ? [
          ['seat_id', seat],
          ['mail_firstName', 'Alex'],
          ['mail_lastName', 'Wilber'],
          ['mail_email', seat],
        ]
      : [
          ['seat_id', seat],
          ['common_name', seat.split('@')[0]!],
          ['mail_email', seat],
          ['otherNameUPN', seat],
        ];
  const answer = await post(
    simulator,
    agent,
    'enrollmentService',
    enrollmentRequestXml({ profileOid, csr: csrBase64(key), pairs }),
  );
  if (answer.status !== 200) throw new Error(`enrollment answered ${answer.status}: ${answer.body}`);
  return simulator.issued.at(-1)!.serialNumber;
}

interface SearchPage {
  certificateCount: number;
  more: boolean;
  certificates: XmlObject[];
  body: string;
}

async function search(children: [string, string][]): Promise<SearchPage> {
  const answer = await post(
    simulator,
    agent,
    'certificateManagementService',
    managementRequestXml('searchCertificateRequest', [...children, ['version', '1.0']]),
  );
  const { name, value } = soapBody(answer.body);
  if (name !== 'searchCertificateResponse') throw new Error(`expected a search answer: ${answer.body}`);
  return {
    certificateCount: Number(textOf(value.certificateCount)),
    more: value.moreCertificateAvailable !== undefined && textOf(value.moreCertificateAvailable) === 'true',
    certificates:
      ((value.certificateList as XmlObject | undefined)?.certificateInformation as XmlObject[] | undefined) ??
      [],
    body: answer.body,
  };
}

/** Pages the way public clients do: startIndex += certificateCount while moreCertificateAvailable. */
async function searchAll(filters: [string, string][]): Promise<{ pages: number; certificates: XmlObject[] }> {
  const certificates: XmlObject[] = [];
  let startIndex = 1;
  for (let pages = 1; pages < 20; pages += 1) {
    const page = await search([...filters, ['startIndex', String(startIndex)]]);
    certificates.push(...page.certificates);
    if (!page.more) return { pages, certificates };
    startIndex += page.certificateCount;
  }
  throw new Error('paging did not end');
}

const publicKeyOf = (information: XmlObject): string =>
  new X509Certificate(Buffer.from(textOf(information.certificate), 'base64')).publicKey
    .export({ type: 'spki', format: 'der' })
    .toString('base64');

const revokeXml = (children: [string, string][]): string =>
  managementRequestXml('updateCertificateStatusRequest', [['version', '1.0'], ...children]);

let serials: { a1: string; a2: string; aName: string; b: string };

beforeAll(async () => {
  session = await startSimulatorSession('simulator-management-', { searchPageSize: 2 });
  ({ simulator, agent } = session);
  keys = [rsaKey(2048), rsaKey(2048), rsaKey(2048)];
  serials = {
    a1: await enroll(USER_PROFILE, SEAT_A, keys[0]!),
    a2: await enroll(USER_PROFILE, SEAT_A, keys[1]!),
    aName: await enroll(NAME_PROFILE, SEAT_A, keys[0]!),
    b: await enroll(USER_PROFILE, SEAT_B, keys[2]!),
  };
});

afterAll(() => session?.close());

describe('searchCertificate', () => {
  it('filters by seatId AND profileOID and returns the DER to match public keys with', async () => {
    const page = await search([
      ['seatId', SEAT_A.toUpperCase()],
      ['profileOID', USER_PROFILE],
    ]);
    expect(page.certificateCount).toBe(2);
    expect(page.more).toBe(false);
    expect(page.certificates.map((information) => textOf(information.serialNumber))).toEqual([
      serials.a1,
      serials.a2,
    ]);
    expect(page.certificates.map(publicKeyOf)).toEqual([spki(keys[0]!), spki(keys[1]!)]);
    for (const information of page.certificates) {
      expect(textOf(information.seatId)).toBe(SEAT_A);
      expect(textOf(information.profileOID)).toBe(USER_PROFILE);
      expect(textOf(information.status)).toBe('VALID');
      expect(Number(textOf(information.validTo))).toBeGreaterThan(Date.now() / 1000);
    }
    const other = await search([
      ['seatId', SEAT_A],
      ['profileOID', NAME_PROFILE],
    ]);
    expect(other.certificates.map((information) => textOf(information.serialNumber))).toEqual([
      serials.aName,
    ]);
    expect((await search([['seatId', 'nobody@contoso.com']])).certificateCount).toBe(0);
    expect((await search([['accountId', 'another-account']])).certificateCount).toBe(0);
  });

  it('pages with startIndex (1-based by default: missing is the first page, 0 is refused) and moreCertificateAvailable', async () => {
    const first = await search([['seatId', SEAT_A]]);
    expect(first).toMatchObject({ certificateCount: 2, more: true });
    expect(
      (
        await search([
          ['seatId', SEAT_A],
          ['startIndex', '1'],
        ])
      ).certificates.map((c) => textOf(c.serialNumber)),
    ).toEqual(first.certificates.map((c) => textOf(c.serialNumber)));
    const second = await search([
      ['seatId', SEAT_A],
      ['startIndex', '3'],
    ]);
    expect(second).toMatchObject({ certificateCount: 1, more: false });
    expect(second.certificates.map((information) => textOf(information.serialNumber))).toEqual([
      serials.aName,
    ]);
    const zero = await post(
      simulator,
      agent,
      'certificateManagementService',
      managementRequestXml('searchCertificateRequest', [
        ['seatId', SEAT_A],
        ['startIndex', '0'],
        ['version', '1.0'],
      ]),
    );
    expect(fault(zero.body).message).toMatch(/startIndex 0 is out of range: the first certificate is 1/);
    const everything = await searchAll([]);
    expect(everything.pages).toBe(2);
    expect(everything.certificates.map((c) => textOf(c.serialNumber))).toEqual([
      serials.a1,
      serials.a2,
      serials.aName,
      serials.b,
    ]);
  });

  it('reads startIndex from 0, certificateCount as the total and leaves out moreCertificateAvailable when told', async () => {
    simulator.setSearchReading({ startIndexBase: 0, certificateCount: 'total', moreFlag: false });
    try {
      const first = await search([['seatId', SEAT_A]]);
      const fromZero = await search([
        ['seatId', SEAT_A],
        ['startIndex', '0'],
      ]);
      const third = await search([
        ['seatId', SEAT_A],
        ['startIndex', '2'],
      ]);
      expect(first.certificates.map((c) => textOf(c.serialNumber))).toEqual([serials.a1, serials.a2]);
      expect(fromZero.certificates.map((c) => textOf(c.serialNumber))).toEqual([serials.a1, serials.a2]);
      expect(third.certificates.map((c) => textOf(c.serialNumber))).toEqual([serials.aName]);
      // The total, on every page; no moreCertificateAvailable element at all.
      expect([first.certificateCount, third.certificateCount]).toEqual([3, 3]);
      expect(third.body).not.toMatch(/moreCertificateAvailable/);
    } finally {
      simulator.setSearchReading({ startIndexBase: 1, certificateCount: 'page', moreFlag: true });
    }
    expect(() => simulator.setSearchReading({ startIndexBase: 2 as 0 })).toThrow(/0 or 1/);
  });

  it('faults filters that break the schema', async () => {
    const badStatus = await post(
      simulator,
      agent,
      'certificateManagementService',
      managementRequestXml('searchCertificateRequest', [
        ['status', 'ACTIVE'],
        ['version', '1.0'],
      ]),
    );
    expect(fault(badStatus.body)).toMatchObject({
      errorcode: '1001',
      message: expect.stringMatching(/status "ACTIVE"/),
    });
    const badStart = await post(
      simulator,
      agent,
      'certificateManagementService',
      managementRequestXml('searchCertificateRequest', [
        ['startIndex', 'two'],
        ['version', '1.0'],
      ]),
    );
    expect(fault(badStart.body).message).toMatch(/startIndex "two"/);
    const badDate = await post(
      simulator,
      agent,
      'certificateManagementService',
      managementRequestXml('searchCertificateRequest', [
        ['validFrom', 'yesterday'],
        ['version', '1.0'],
      ]),
    );
    expect(fault(badDate.body).message).toMatch(/validFrom "yesterday"/);
  });
});

describe('updateCertificateStatus and the account audit', () => {
  it('revokes a stray with reason Superseded; search by status and the audit see it', async () => {
    const before = simulator.accountAudit();
    expect(before.seatsWithSeveralValid).toEqual([SEAT_A]);

    const answer = await post(
      simulator,
      agent,
      'certificateManagementService',
      revokeXml([
        ['revocationReason', 'Superseded'],
        ['comment', 'ambiguous enrollment, key lost'],
        ['certificateSerialNumber', serials.a1.toLowerCase()],
        ['operationType', 'Revoke'],
      ]),
    );
    const response = soapBody(answer.body);
    expect(response.name).toBe('updateCertificateStatusResponse');
    expect(textOf(response.value.successCode)).toBe('0');
    expect(textOf(response.value.revocationCount)).toBe('1');

    const revoked = simulator.issued.find((certificate) => certificate.serialNumber === serials.a1)!;
    expect(revoked).toMatchObject({
      status: 'REVOKED',
      revocationReason: 'Superseded',
      revocationComment: 'ambiguous enrollment, key lost',
    });
    expect(revoked.statusChangedAt).toBeInstanceOf(Date);

    const valid = await search([
      ['seatId', SEAT_A],
      ['profileOID', USER_PROFILE],
      ['status', 'VALID'],
    ]);
    expect(valid.certificates.map((c) => textOf(c.serialNumber))).toEqual([serials.a2]);
    const gone = await search([
      ['seatId', SEAT_A],
      ['profileOID', USER_PROFILE],
      ['status', 'REVOKED'],
    ]);
    expect(gone.certificates).toHaveLength(1);
    expect(textOf(gone.certificates[0]!.revokeReason)).toBe('Superseded');
    expect(textOf(gone.certificates[0]!.revokeComments)).toBe('ambiguous enrollment, key lost');
    expect(Number(textOf(gone.certificates[0]!.revokeAt))).toBeGreaterThan(0);

    // Revoking it again is refused, and changes nothing.
    const again = await post(
      simulator,
      agent,
      'certificateManagementService',
      revokeXml([
        ['revocationReason', 'KeyCompromise'],
        ['certificateSerialNumber', serials.a1],
        ['operationType', 'Revoke'],
      ]),
    );
    expect(fault(again.body)).toMatchObject({ faultcode: 'soapenv:Client', errorcode: '4002' });
    expect(revoked.revocationReason).toBe('Superseded');

    // Seat A still has two valid certificates, one per profile; revoke the other profile's too.
    expect(simulator.accountAudit().seatsWithSeveralValid).toEqual([SEAT_A]);
    await post(
      simulator,
      agent,
      'certificateManagementService',
      revokeXml([
        ['revocationReason', 'Superseded'],
        ['certificateSerialNumber', serials.aName],
        ['operationType', 'Revoke'],
      ]),
    );

    const audit = simulator.accountAudit();
    const expected: AccountAudit = {
      certificates: 4,
      valid: 2,
      revoked: 2,
      suspended: 0,
      seats: [
        {
          seatId: SEAT_A,
          profileOids: [USER_PROFILE, NAME_PROFILE],
          total: 3,
          valid: 1,
          revoked: 2,
          suspended: 0,
          validSerials: [serials.a2],
          revocationReasons: { Superseded: 2 },
        },
        {
          seatId: SEAT_B,
          profileOids: [USER_PROFILE],
          total: 1,
          valid: 1,
          revoked: 0,
          suspended: 0,
          validSerials: [serials.b],
          revocationReasons: {},
        },
      ],
      seatsWithSeveralValid: [],
      revocationReasons: { Superseded: 2 },
    };
    expect(audit).toEqual(expected);
    expect(JSON.parse((await admin(simulator, agent, 'GET', 'audit')).body)).toEqual(expected);
    expect(simulator.stats()).toMatchObject({ issued: 4, valid: 2, revoked: 2, suspended: 0 });
    const listed = JSON.parse((await admin(simulator, agent, 'GET', 'issued')).body) as {
      serialNumber: string;
      status: string;
      revocationReason?: string;
    }[];
    expect(listed.find((certificate) => certificate.serialNumber === serials.a1)).toMatchObject({
      status: 'REVOKED',
      revocationReason: 'Superseded',
    });
  });

  const malformed: { children: [string, string][]; message: RegExp }[] = [
    { children: [['operationType', 'Revoke']], message: /either certificateSerialNumber or seatId/ },
    {
      children: [
        ['certificateSerialNumber', 'AB'],
        ['seatId', 'x'],
        ['operationType', 'Revoke'],
      ],
      message: /either certificateSerialNumber or seatId/,
    },
    { children: [['certificateSerialNumber', 'AB']], message: /operationType "" is not Revoke/ },
    {
      children: [
        ['revocationReason', 'Lost'],
        ['certificateSerialNumber', 'AB'],
        ['operationType', 'Revoke'],
      ],
      message: /revocationReason "Lost"/,
    },
    {
      children: [
        ['comment', 'x'.repeat(513)],
        ['certificateSerialNumber', 'AB'],
        ['operationType', 'Revoke'],
      ],
      message: /longer than 512/,
    },
  ];
  it.each(malformed)('faults a malformed update ($message)', async ({ children, message }) => {
    const answer = await post(simulator, agent, 'certificateManagementService', revokeXml(children));
    expect(answer.status).toBe(500);
    expect(fault(answer.body)).toMatchObject({ errorcode: '1001', message: expect.stringMatching(message) });
  });
});

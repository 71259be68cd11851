/** certificateManagementService: searchCertificate and Revoke requests as built, and their answers as read. */
import { X509Certificate } from 'node:crypto';
import { createCertificate, type TestCertificate } from '../../../dev/pki/certificates';
import { BrokerError } from '../../../shared/contract/errors';
import { saysAlreadyRevoked } from '../../../shared/digicert/faults/answerContent';
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { classifyFault } from '../../../shared/digicert/faults/soapFault';
import {
  buildRevokeEnvelope,
  buildSearchCertificateEnvelope,
  normalizeSerialNumber,
  parseCaTimestamp,
  parseSearchCertificateResponse,
  parseUpdateCertificateStatusResponse,
} from '../../../shared/digicert/management';
import { parseSoapAnswer } from '../../../shared/digicert/soap';
import { childText, elementAt, parseXml } from '../../../shared/digicert/xml';
import { brokerErrorOf } from '../../support/brokerErrors';
import { digicertFixture } from '../../support/digicertFixtures';

const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61234567';
const searchContext: CallContext = {
  operation: 'searchCertificate',
  caHost: 'ca.fabrikam.test',
  service: 'certificateManagementService',
  profileOid: PROFILE,
};
const revokeContext: CallContext = {
  operation: 'updateCertificateStatus',
  caHost: 'ca.fabrikam.test',
  service: 'certificateManagementService',
};

let certificates: TestCertificate[];

beforeAll(() => {
  const issuer = createCertificate({ subject: [{ shortName: 'CN', value: 'Search Test CA' }], isCa: true });
  certificates = [1, 2, 3].map((index) =>
    createCertificate({ subject: [{ shortName: 'CN', value: `Adele Vance ${index}` }], issuer }),
  );
});

function base64Der(certificate: TestCertificate): string {
  return new X509Certificate(certificate.certPem).raw.toString('base64');
}

function mixedPage(): string {
  const [one, two, three] = certificates.map(base64Der);
  return digicertFixture('search-page-mixed.xml')
    .replace('CERTIFICATE_ONE', one ?? '')
    .replace('CERTIFICATE_TWO', (two ?? '').replace(/(.{64})/g, '$1\n'))
    .replace('CERTIFICATE_THREE', three ?? '');
}

describe('normalizeSerialNumber', () => {
  it.each([
    ['00:1a:2b:3c:4d', '1A2B3C4D'],
    ['0ABCDEF', 'ABCDEF'],
    [' 7f 00 ', '7F00'],
    ['0000', '0'],
    ['1A2B3C4D', '1A2B3C4D'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeSerialNumber(input)).toBe(expected);
  });

  it('refuses what is not hexadecimal', () => {
    expect(normalizeSerialNumber('12-34')).toBeUndefined();
    expect(normalizeSerialNumber('')).toBeUndefined();
    expect(normalizeSerialNumber('0x1A')).toBeUndefined();
  });
});

describe('parseCaTimestamp', () => {
  it('reads epoch seconds, tolerates milliseconds and ISO 8601', () => {
    expect(parseCaTimestamp('1767225600')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parseCaTimestamp('1767225600000')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parseCaTimestamp('2027-01-01T00:00:00Z')?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(parseCaTimestamp('not a date')).toBeUndefined();
    expect(parseCaTimestamp(undefined)).toBeUndefined();
  });
});

describe('searchCertificate request', () => {
  it('writes the filters in the XSD order, version 1.0, startIndex as given', () => {
    const request = elementAt(
      parseXml(
        buildSearchCertificateEnvelope(
          { seatId: 'adele.vance@contoso.example', profileOid: PROFILE, status: 'VALID' },
          51,
          'search-tx-1',
          searchContext,
        ),
      ),
      'Body',
      'searchCertificateRequest',
    );
    expect(request?.children.map((child) => child.name)).toEqual([
      'clientTransactionID',
      'seatId',
      'profileOID',
      'status',
      'startIndex',
      'version',
    ]);
    expect(childText(request, 'startIndex')).toBe('51');
    expect(childText(request, 'version')).toBe('1.0');
    expect(childText(request, 'profileOID')).toBe(PROFILE);
  });

  it('leaves out filters that are not given', () => {
    const request = elementAt(
      parseXml(buildSearchCertificateEnvelope({ seatId: 'x@y.test' }, 1, 'search-tx-2', searchContext)),
      'Body',
      'searchCertificateRequest',
    );
    expect(request?.children.map((child) => child.name)).toEqual([
      'clientTransactionID',
      'seatId',
      'startIndex',
      'version',
    ]);
  });

  it('refuses a status PKI-WS does not know, a transaction ID over 40 characters, a value XML cannot carry', () => {
    const badStatus = brokerErrorOf(() =>
      buildSearchCertificateEnvelope(
        { status: 'PENDING' as unknown as 'VALID' },
        1,
        'search-tx-3',
        searchContext,
      ),
    );
    expect(badStatus.code).toBe('INVALID_REQUEST');
    expect(badStatus.message).toMatch(/status "PENDING"/);
    expect(
      brokerErrorOf(() => buildSearchCertificateEnvelope({}, 1, 'x'.repeat(41), searchContext)).code,
    ).toBe('INVALID_REQUEST');
    const control = brokerErrorOf(() =>
      buildSearchCertificateEnvelope({ seatId: 'a\u0001b' }, 1, 'search-tx-4', searchContext),
    );
    expect(control.code).toBe('INVALID_REQUEST');
    expect(control.message).toMatch(/seatId/);
  });
});

describe('searchCertificate answer', () => {
  it('reads every certificateInformation: DER, normalised serial, status, seat, profile, dates', () => {
    const page = parseSearchCertificateResponse(parseSoapAnswer(mixedPage()).body, searchContext);
    expect(page.more).toBe(true);
    expect(page.records).toHaveLength(3);
    const [first, second, third] = page.records;
    expect(first).toEqual({
      serialNumber: '1A2B3C4D',
      certificateDer: new X509Certificate(certificates[0]!.certPem).raw,
      status: 'VALID',
      seatId: 'adele.vance@contoso.example',
      profileOid: PROFILE,
      validFrom: new Date('2026-01-01T00:00:00Z'),
      validTo: new Date('2027-01-01T00:00:00Z'),
    });
    // base64 broken into lines; status in lower case; timestamps in milliseconds and ISO.
    expect(second?.certificateDer?.equals(new X509Certificate(certificates[1]!.certPem).raw)).toBe(true);
    expect(second).toMatchObject({
      serialNumber: 'ABCDEF',
      status: 'REVOKED',
      validFrom: new Date('2026-01-01T00:00:00Z'),
      validTo: new Date('2027-01-01T00:00:00Z'),
    });
    // No serialNumber: the certificate's own; an unreadable validFrom is left out.
    expect(third?.serialNumber).toBe(
      normalizeSerialNumber(new X509Certificate(certificates[2]!.certPem).serialNumber),
    );
    expect(third?.status).toBe('EXPIRED');
    expect(third?.validFrom).toBeUndefined();
  });

  it('reads an answer without matches as an empty last page', () => {
    expect(
      parseSearchCertificateResponse(
        parseSoapAnswer(digicertFixture('search-empty.xml')).body,
        searchContext,
      ),
    ).toEqual({
      records: [],
      more: false,
      certificateCount: 0,
    });
  });

  it('says CA_REJECTED for another element, a certificate that is not base64, a record without any serial', () => {
    const other = brokerErrorOf(() =>
      parseSearchCertificateResponse(parseSoapAnswer(digicertFixture('health-up.xml')).body, searchContext),
    );
    expect(other.code).toBe('CA_REJECTED');
    expect(other.message).toMatch(/expected searchCertificateResponse, got getStatusResponseMessage/);
    const garbled = brokerErrorOf(() =>
      parseSearchCertificateResponse(
        parseSoapAnswer(mixedPage().replace(base64Der(certificates[0]!), '%%%not base64%%%')).body,
        searchContext,
      ),
    );
    expect(garbled.message).toMatch(/certificateInformation 1 has a certificate that is not base64/);
    const noSerial = brokerErrorOf(() =>
      parseSearchCertificateResponse(
        parseSoapAnswer(mixedPage().replace(base64Der(certificates[2]!), '')).body,
        searchContext,
      ),
    );
    expect(noSerial.message).toMatch(
      /certificateInformation 3 has neither a serialNumber nor a readable certificate/,
    );
  });
});

describe('Revoke request', () => {
  it('writes reason, comment, normalised serial and operationType Revoke in the XSD order', () => {
    const request = elementAt(
      parseXml(
        buildRevokeEnvelope(
          { serialNumber: '00:1a:2b', reason: 'Superseded', comment: 'stray <certificate> & co' },
          'revoke-tx-1',
          revokeContext,
        ),
      ),
      'Body',
      'updateCertificateStatusRequest',
    );
    expect(request?.children.map((child) => child.name)).toEqual([
      'clientTransactionID',
      'version',
      'revocationReason',
      'comment',
      'certificateSerialNumber',
      'operationType',
    ]);
    expect(childText(request, 'certificateSerialNumber')).toBe('1A2B');
    expect(childText(request, 'comment')).toBe('stray <certificate> & co');
    expect(childText(request, 'operationType')).toBe('Revoke');
  });

  it('refuses, naming the field: a serial that is not hex, an unknown reason, a comment over 512 characters', () => {
    const serial = brokerErrorOf(() =>
      buildRevokeEnvelope({ serialNumber: 'serial-1', reason: 'Superseded' }, 'r', revokeContext),
    );
    expect(serial.code).toBe('INVALID_REQUEST');
    expect(serial.message).toMatch(/certificateSerialNumber "serial-1" is not hexadecimal/);
    const reason = brokerErrorOf(() =>
      buildRevokeEnvelope(
        { serialNumber: '1A', reason: 'CertificateHold' as unknown as 'Superseded' },
        'r',
        revokeContext,
      ),
    );
    expect(reason.message).toMatch(/revocationReason "CertificateHold"/);
    const comment = brokerErrorOf(() =>
      buildRevokeEnvelope(
        { serialNumber: '1A', reason: 'Superseded', comment: 'x'.repeat(513) },
        'r',
        revokeContext,
      ),
    );
    expect(comment.message).toMatch(/comment is 513 characters long; PKI-WS accepts at most 512/);
    expect(() =>
      buildRevokeEnvelope(
        { serialNumber: '1A', reason: 'Superseded', comment: 'x'.repeat(512) },
        'r',
        revokeContext,
      ),
    ).not.toThrow();
  });
});

describe('Revoke answer', () => {
  it('reads successCode, successMsg and revocationCount', () => {
    expect(
      parseUpdateCertificateStatusResponse(
        parseSoapAnswer(digicertFixture('revoke-ok.xml')).body,
        revokeContext,
        '1A',
      ),
    ).toEqual({
      successCode: 0,
      successMessage: 'Revoke succeeded for 1 certificate(s).',
      revocationCount: 1,
    });
  });

  it('a negative successCode → CA_REJECTED with the CA words and the serial', () => {
    const error = brokerErrorOf(() =>
      parseUpdateCertificateStatusResponse(
        parseSoapAnswer(digicertFixture('revoke-negative.xml')).body,
        revokeContext,
        '1A2B',
      ),
    );
    expect(error.code).toBe('CA_REJECTED');
    expect(error.message).toMatch(/did not revoke certificate 1A2B/);
    expect(error.caMessage).toBe('Certificate belongs to another account (successCode -3)');
    expect(error.retryable).toBe(false);
  });

  it('an answer without a successCode → CA_REJECTED (not understood)', () => {
    const xml = digicertFixture('revoke-ok.xml').replace(/<ns2:successCode>0<\/ns2:successCode>/, '');
    expect(
      brokerErrorOf(() =>
        parseUpdateCertificateStatusResponse(parseSoapAnswer(xml).body, revokeContext, '1A'),
      ).message,
    ).toMatch(/no successCode/);
  });

  it('recognises a refusal saying the certificate is revoked already, and only that', () => {
    const faultOf = (name: string) => {
      const fault = parseSoapAnswer(digicertFixture(name)).fault;
      if (fault === undefined) throw new Error(`${name} has no fault`);
      return classifyFault(fault, revokeContext);
    };
    expect(saysAlreadyRevoked(faultOf('fault-already-revoked.xml'))).toBe(true);
    expect(saysAlreadyRevoked(faultOf('fault-certificate-not-found.xml'))).toBe(false);
    expect(
      saysAlreadyRevoked(new BrokerError('CA_REJECTED', 'x', { caMessage: 'Certificate already revoked' })),
    ).toBe(true);
    expect(
      saysAlreadyRevoked(new BrokerError('CA_REJECTED', 'x', { caMessage: 'certificate is not revoked' })),
    ).toBe(false);
    // A timeout is never "done", whatever words it carries.
    expect(saysAlreadyRevoked(new BrokerError('CA_TIMEOUT', 'x', { caMessage: 'already revoked' }))).toBe(
      false,
    );
  });
});

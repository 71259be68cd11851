import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { buildGetStatusEnvelope, parseGetStatusResponse } from '../../../shared/digicert/health';
import { parseSoapAnswer } from '../../../shared/digicert/soap';
import { childText, elementAt, parseXml } from '../../../shared/digicert/xml';
import { digicertFixture } from '../../support/digicertFixtures';

const context: CallContext = {
  operation: 'getStatus',
  caHost: 'ca.fabrikam.test',
  service: 'healthcheckService',
};

function statusFrom(xml: string) {
  return parseGetStatusResponse(parseSoapAnswer(xml).body, context);
}

describe('getStatus', () => {
  it('asks version 1.0, operation ENROLL, and the profile only when given', () => {
    const withProfile = elementAt(
      parseXml(buildGetStatusEnvelope('hc-1', '1.2.3.4')),
      'Body',
      'getStatusRequestMessage',
    );
    expect(withProfile?.children.map((child) => child.name)).toEqual([
      'version',
      'clientTransactionID',
      'operationType',
      'profileOid',
    ]);
    expect(childText(withProfile, 'version')).toBe('1.0');
    expect(childText(withProfile, 'operationType')).toBe('ENROLL');
    expect(childText(withProfile, 'profileOid')).toBe('1.2.3.4');
    const without = elementAt(parseXml(buildGetStatusEnvelope('hc-2')), 'Body', 'getStatusRequestMessage');
    expect(childText(without, 'profileOid')).toBeUndefined();
  });

  it('reads UP and DOWN (any casing, any prefix)', () => {
    expect(statusFrom(digicertFixture('health-up.xml'))).toEqual({
      up: true,
      message: 'Enrollment service operational',
    });
    expect(statusFrom(digicertFixture('health-down.xml'))).toEqual({
      up: false,
      message: 'Scheduled maintenance until 02:00 UTC',
    });
  });

  it('says CA_REJECTED for an answer without a known status', () => {
    const xml =
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><getStatusResponseMessage>' +
      '<statusCode>MAYBE</statusCode></getStatusResponseMessage></s:Body></s:Envelope>';
    expect(() => statusFrom(xml)).toThrow(expect.objectContaining({ code: 'CA_REJECTED' }));
  });
});

/**
 * The parsers of what the CA sends back, on arbitrary input: the SOAP answer parser and the response parsers
 * on arbitrary and XML-shaped text, the DER, certificate and PKCS#7 token parsers on arbitrary bytes and on
 * mutations of real ones. Each returns a value or throws its own classified error (BrokerError, SoapParseError,
 * DerError), and none hangs: every run is bounded by fast-check's time limit and the test timeout.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createCertificate } from '../../../dev/pki/certificates';
import { BrokerError } from '../../../shared/contract/errors';
import { readCertificateDetails } from '../../../shared/crypto/certificate';
import { parseIssuedToken } from '../../../shared/crypto/token';
import { DerError, parseStrictDer } from '../../../shared/der';
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { parseRequestSecurityTokenResponse } from '../../../shared/digicert/enrollment';
import { parseGetStatusResponse } from '../../../shared/digicert/health';
import {
  parseSearchCertificateResponse,
  parseUpdateCertificateStatusResponse,
} from '../../../shared/digicert/management';
import { parseGetPoliciesResponse } from '../../../shared/digicert/policy';
import { parseSoapAnswer, SoapParseError } from '../../../shared/digicert/soap';
import { fc, onlyThrows } from './settings';

const context: CallContext = {
  operation: 'requestSecurityToken',
  caHost: 'ca.test',
  service: 'enrollmentService',
};
const PROFILE_OID = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';

const tagName = fc.constantFrom(
  'soap:Envelope',
  'soap:Body',
  'soap:Fault',
  'faultstring',
  'RequestSecurityTokenResponse',
  'RequestedSecurityToken',
  'BinarySecurityToken',
  'getPoliciesResponse',
  'searchCertificateResponse',
  'updateCertificateStatusResponse',
  'getStatusResponse',
  'x',
);
const xmlPiece = fc.oneof(
  tagName.map((tag) => `<${tag}>`),
  tagName.map((tag) => `</${tag}>`),
  tagName.map((tag) => `<${tag}/>`),
  fc.constantFrom(
    '<?xml version="1.0"?>',
    '<!DOCTYPE x [<!ENTITY e "eeeeeeeeee">]>',
    '&e;',
    '&amp;',
    '&#0;',
    '<![CDATA[x]]>',
    '<!-- c -->',
    ' xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"',
    'MIIB',
    'true',
    '2026-12-05T00:00:00Z',
  ),
  fc.string({ maxLength: 12 }),
);
const envelope = (inner: string): string =>
  `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${inner}</soap:Body></soap:Envelope>`;
const ENTITY_BOMB = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "${'&a;'.repeat(10)}"><!ENTITY c "${'&b;'.repeat(10)}">]>${envelope('&c;'.repeat(10))}`;
const xmlish = fc.array(xmlPiece, { maxLength: 30 }).map((pieces) => pieces.join(''));
const envelopeAround = xmlish.map(envelope);

describe('the SOAP answer and response parsers', () => {
  it('parseSoapAnswer returns an answer or throws SoapParseError or BrokerError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), xmlish, envelopeAround), (text) => {
        onlyThrows(() => parseSoapAnswer(text), SoapParseError, BrokerError);
      }),
      // Run first, every time: nesting 100,000 deep and an entity expansion bomb, each refused quickly.
      { examples: [[envelope(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`)], [ENTITY_BOMB]] },
    );
  });

  it('every response parser returns a value or throws a BrokerError on any SOAP body', () => {
    fc.assert(
      fc.property(envelopeAround, (text) => {
        let body;
        try {
          body = parseSoapAnswer(text).body;
        } catch (error) {
          if (error instanceof SoapParseError || error instanceof BrokerError) return;
          throw error;
        }
        onlyThrows(() => parseRequestSecurityTokenResponse(body, context), BrokerError);
        onlyThrows(() => parseGetPoliciesResponse(body, PROFILE_OID, context), BrokerError);
        onlyThrows(() => parseSearchCertificateResponse(body, context), BrokerError);
        onlyThrows(() => parseUpdateCertificateStatusResponse(body, context, '4F2A'), BrokerError);
        onlyThrows(() => parseGetStatusResponse(body, context), BrokerError);
      }),
    );
  });
});

describe('the DER, certificate and token parsers', () => {
  const certificate = createCertificate({ subject: [{ shortName: 'CN', value: 'Property Leaf' }], days: 30 });
  const realDer = Buffer.from(
    certificate.certPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''),
    'base64',
  );
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const mutated = fc
    .array(fc.tuple(fc.nat({ max: realDer.length - 1 }), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    })
    .map((changes) => {
      const copy = Buffer.from(realDer);
      for (const [index, byte] of changes) copy[index] = byte;
      return copy;
    });
  const truncated = fc.nat({ max: realDer.length - 1 }).map((length) => realDer.subarray(0, length));
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((array) => Buffer.from(array)),
    mutated,
    truncated,
    fc.constantFrom(
      Buffer.from('3080', 'hex'),
      Buffer.from('30840fffffff', 'hex'),
      Buffer.from('3'.repeat(0)),
    ),
  );

  it('parseStrictDer returns a node or throws DerError', () => {
    fc.assert(fc.property(bytes, (der) => onlyThrows(() => parseStrictDer(der), DerError)));
  });

  it('readCertificateDetails returns details or throws DerError', () => {
    fc.assert(fc.property(bytes, (der) => onlyThrows(() => readCertificateDetails(der), DerError)));
  });

  it('parseIssuedToken returns certificates or throws a BrokerError, for PKCS#7 and X.509 tokens', () => {
    fc.assert(
      fc.property(bytes, fc.constantFrom('PKCS7' as const, 'X509v3' as const), (tokenDer, tokenType) => {
        onlyThrows(() => parseIssuedToken({ tokenDer, tokenType }, publicKey), BrokerError);
      }),
    );
  });
});

/**
 * Validates SOAP requests against the vendor's PKI-WS schemas with xmllint (offline: the team folder's
 * imports/catalog.xml maps every schemaLocation to a local copy). Needs the team folder: call it inside
 * `describeWithTeamShared`. Used by the client's tests, the simulator's and the end-to-end tests.
 */
import { spawnSync } from 'node:child_process';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { ReceivedRequest, SimulatorService } from '../../dev/simulator/server';
import { teamSharedPath } from './teamShared';

export type PkiWsSchema = 'policy' | 'enrollment' | 'health' | 'management';

export interface XsdValidation {
  valid: boolean;
  /** What xmllint said (or why nothing could be validated). */
  output: string;
}

const SCHEMA_FILES: Record<PkiWsSchema, string[]> = {
  policy: ['policy', 'CertificateEnrollmentPolicy.xsd'],
  enrollment: ['enrollment', 'ws-trust-1.3-verisign.xsd'],
  health: ['healthcheck', 'HealthcheckService.xsd'],
  management: ['certificatemanagement', 'CertificateManagementService.xsd'],
};

export function schemaPath(service: PkiWsSchema): string {
  return teamSharedPath('reference', 'pki-ws', ...SCHEMA_FILES[service]);
}

// Raw round trip: no entity decoding, no value parsing, so the extracted body is byte-for-byte the original.
const RAW_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
} as const;

type RawNode = Record<string, unknown>;

function tagOf(node: RawNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@');
}

function localName(tag: string): string {
  return tag.slice(tag.indexOf(':') + 1);
}

function elementChildren(node: RawNode): RawNode[] {
  const tag = tagOf(node);
  const content = tag === undefined ? undefined : node[tag];
  if (!Array.isArray(content)) return [];
  return content.filter((child): child is RawNode => {
    if (typeof child !== 'object' || child === null) return false;
    const childTag = tagOf(child as RawNode);
    return childTag !== undefined && !childTag.startsWith('#') && !childTag.startsWith('?');
  });
}

function namespaceDeclarations(node: RawNode): Record<string, string> {
  const attributes = node[':@'];
  if (typeof attributes !== 'object' || attributes === null) return {};
  return Object.fromEntries(
    Object.entries(attributes as Record<string, unknown>).filter(
      (entry): entry is [string, string] =>
        (entry[0] === 'xmlns' || entry[0].startsWith('xmlns:')) && typeof entry[1] === 'string',
    ),
  );
}

/**
 * The first element inside soap:Body as a document of its own, carrying the namespace declarations it
 * inherited from Envelope and Body. Throws when the envelope has no Body child.
 */
export function extractSoapBody(envelopeXml: string): string {
  const nodes = new XMLParser(RAW_OPTIONS).parse(envelopeXml) as unknown[];
  const envelope = nodes.find(
    (node): node is RawNode =>
      typeof node === 'object' && node !== null && localName(tagOf(node as RawNode) ?? '') === 'Envelope',
  );
  if (envelope === undefined) throw new Error('no SOAP Envelope element');
  const body = elementChildren(envelope).find((child) => localName(tagOf(child) ?? '') === 'Body');
  if (body === undefined) throw new Error('the Envelope has no Body');
  const payload = elementChildren(body)[0];
  if (payload === undefined) throw new Error('the Body is empty');
  const inherited = { ...namespaceDeclarations(envelope), ...namespaceDeclarations(body) };
  const own = (payload[':@'] as Record<string, unknown> | undefined) ?? {};
  const standalone: RawNode = { ...payload, ':@': { ...inherited, ...own } };
  return new XMLBuilder(RAW_OPTIONS).build([standalone]) as string;
}

/** Runs `xmllint --nonet --noout --schema <xsd> -` over `xml` with the offline catalog. */
export function validateWithSchema(xml: string, xsdPath: string): XsdValidation {
  const result = spawnSync('xmllint', ['--nonet', '--noout', '--schema', xsdPath, '-'], {
    input: xml,
    encoding: 'utf8',
    env: {
      ...process.env,
      XML_CATALOG_FILES: teamSharedPath('reference', 'pki-ws', 'imports', 'catalog.xml'),
    },
  });
  if (result.error !== undefined) {
    return { valid: false, output: `xmllint could not be run: ${result.error.message}` };
  }
  return { valid: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

/** Validates the SOAP Body's first child against the vendor XSD of `service`. */
export function validateSoapBody(envelopeXml: string, service: PkiWsSchema): XsdValidation {
  let body: string;
  try {
    body = extractSoapBody(envelopeXml);
  } catch (error) {
    return {
      valid: false,
      output: `no body to validate: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return validateWithSchema(body, schemaPath(service));
}

/** Validates the whole document against the SOAP 1.1 envelope schema. */
export function validateSoapEnvelope(envelopeXml: string): XsdValidation {
  return validateWithSchema(
    envelopeXml,
    teamSharedPath('reference', 'pki-ws', 'imports', 'soap-1.1-envelope.xsd'),
  );
}

const SCHEMA_OF_SERVICE: Record<SimulatorService, PkiWsSchema> = {
  policyService: 'policy',
  enrollmentService: 'enrollment',
  healthcheckService: 'health',
  certificateManagementService: 'management',
};

/** Validates the SOAP body of each request the simulator received against its service's vendor XSD. */
export function validateReceivedBodies(
  received: readonly Pick<ReceivedRequest, 'service' | 'body'>[],
): ({ service: ReceivedRequest['service'] } & XsdValidation)[] {
  return received.map(({ service, body }) => ({
    service,
    ...(service === 'unknown'
      ? { valid: false, output: 'the request reached no PKI-WS service' }
      : validateSoapBody(body, SCHEMA_OF_SERVICE[service])),
  }));
}

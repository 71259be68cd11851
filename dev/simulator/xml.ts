/**
 * The simulator's own small XML toolkit: an escaping element builder for the answers and a
 * namespace-tolerant reader for the requests. Independent of shared/digicert on purpose: the simulator
 * stands in for the CA, so it must not share the broker's assumptions about the wire format.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

// ---------------------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------------------

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlChild[];
}

export type XmlChild = XmlElement | string;

/** Children may be left out conditionally: `undefined`, `false` and `null` are skipped. */
export type XmlChildInput = XmlChild | undefined | null | false | XmlChildInput[];

/** One element. Attributes whose value is `undefined` are omitted. */
export function el(
  name: string,
  attributes: Record<string, string | number | boolean | undefined> | null,
  ...children: XmlChildInput[]
): XmlElement {
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined) attrs[key] = String(value);
  }
  return { name, attributes: attrs, children: flatten(children) };
}

/** Shorthand for an element that holds only text (numbers and booleans are written with String()). */
export function leaf(
  name: string,
  value: string | number | boolean,
  attributes?: Record<string, string | number | boolean | undefined>,
): XmlElement {
  return el(name, attributes ?? null, String(value));
}

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** An `xsi:nil="true"` element, declaring the xsi prefix locally so any fragment stays self-contained. */
export function nil(name: string): XmlElement {
  return el(name, { 'xmlns:xsi': XSI_NS, 'xsi:nil': 'true' });
}

function flatten(children: XmlChildInput[]): XmlChild[] {
  const out: XmlChild[] = [];
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) out.push(...flatten(child));
    else out.push(child);
  }
  return out;
}

// Characters XML 1.0 cannot carry at all (not even as character references).
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeText(value: string): string {
  return value
    .replace(INVALID_XML_CHARS, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

export function escapeAttribute(value: string): string {
  return escapeText(value)
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

const NAME = /^[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?$/;

export function renderXml(element: XmlElement): string {
  if (!NAME.test(element.name)) throw new Error(`renderXml: "${element.name}" is not an XML element name`);
  const attributes = Object.entries(element.attributes)
    .map(([key, value]) => {
      if (!NAME.test(key)) throw new Error(`renderXml: "${key}" is not an XML attribute name`);
      return ` ${key}="${escapeAttribute(value)}"`;
    })
    .join('');
  if (element.children.length === 0) return `<${element.name}${attributes}/>`;
  const content = element.children
    .map((child) => (typeof child === 'string' ? escapeText(child) : renderXml(child)))
    .join('');
  return `<${element.name}${attributes}>${content}</${element.name}>`;
}

export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/** A SOAP 1.1 envelope around one body element. */
export function soapEnvelope(bodyElement: XmlElement): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    renderXml(
      el('soapenv:Envelope', { 'xmlns:soapenv': SOAP_ENVELOPE_NS }, el('soapenv:Body', null, bodyElement)),
    )
  );
}

// ---------------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------------

/** A parsed element: prefixes are dropped (namespace-tolerant), text is trimmed and entity-decoded. */
export interface ParsedElement {
  /** Local name, as written (compare with {@link sameName}). */
  name: string;
  attributes: Record<string, string>;
  children: ParsedElement[];
  text: string;
}

export class XmlReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlReadError';
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

type OrderedNode = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toParsed(name: string, node: OrderedNode): ParsedElement {
  const attributes: Record<string, string> = {};
  const rawAttributes = node[':@'];
  if (isRecord(rawAttributes)) {
    for (const [key, value] of Object.entries(rawAttributes)) {
      if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
      attributes[key] = String(value);
    }
  }
  const children: ParsedElement[] = [];
  let text = '';
  const content = node[name];
  if (Array.isArray(content)) {
    for (const item of content) {
      if (!isRecord(item)) continue;
      if ('#text' in item) {
        text += String(item['#text']);
        continue;
      }
      const childName = Object.keys(item).find((key) => key !== ':@');
      if (childName !== undefined) children.push(toParsed(childName, item));
    }
  }
  return { name, attributes, children, text };
}

/** Parses a whole document; refuses DTDs (no entity tricks) and malformed XML. */
export function parseXml(xml: string): ParsedElement {
  if (/<!DOCTYPE/i.test(xml)) throw new XmlReadError('a DOCTYPE is not allowed in a SOAP message');
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    throw new XmlReadError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const nodes: unknown = parser.parse(xml);
  if (!Array.isArray(nodes)) throw new XmlReadError('no root element');
  for (const node of nodes) {
    if (!isRecord(node)) continue;
    const name = Object.keys(node).find((key) => key !== ':@' && key !== '#text');
    if (name !== undefined) return toParsed(name, node);
  }
  throw new XmlReadError('no root element');
}

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function childElement(parent: ParsedElement | undefined, name: string): ParsedElement | undefined {
  return parent?.children.find((child) => sameName(child.name, name));
}

export function childElements(parent: ParsedElement | undefined, name: string): ParsedElement[] {
  return parent?.children.filter((child) => sameName(child.name, name)) ?? [];
}

/** Text of a direct child, `undefined` when the child is absent. */
export function childText(parent: ParsedElement | undefined, name: string): string | undefined {
  return childElement(parent, name)?.text;
}

/** The first element inside soap:Body, or an error saying what is missing. */
export function soapBodyElement(envelope: ParsedElement): ParsedElement {
  if (!sameName(envelope.name, 'Envelope')) {
    throw new XmlReadError(`the root element is ${envelope.name}, not a SOAP Envelope`);
  }
  const body = childElement(envelope, 'Body');
  if (body === undefined) throw new XmlReadError('the SOAP Envelope has no Body');
  const first = body.children[0];
  if (first === undefined) throw new XmlReadError('the SOAP Body is empty');
  return first;
}

/**
 * The only XML code of the PKI-WS client.
 *
 * Building: a tiny element tree whose text and attribute values are escaped when it is serialized, so no
 * untrusted value is ever concatenated into markup. Parsing: fast-xml-parser underneath, turned into a plain
 * tree of elements named by their local name (prefixes dropped), with helpers that find children by local
 * name case-insensitively — the published schema copies disagree on casing, and a CA may pick any prefix.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

// ---------------------------------------------------------------------------------------------------------
// Building

/** Text (escaped on output), an element, or nothing (skipped: lets optional elements be written inline). */
export type XmlContent = XmlNode | string | undefined | false;

export interface XmlNode {
  readonly kind: 'xml-element';
  readonly name: string;
  readonly attributes: readonly (readonly [string, string])[];
  readonly children: readonly XmlContent[];
}

/** A value that XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF). */
export class XmlCharacterError extends Error {
  constructor(readonly codePoint: number) {
    super(`U+${codePoint.toString(16).toUpperCase().padStart(4, '0')} cannot be written in an XML document`);
    this.name = 'XmlCharacterError';
  }
}

// eslint-disable-next-line security/detect-unsafe-regex -- linear: the optional part starts with a literal colon
const QUALIFIED_NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;
// Everything XML 1.0 allows: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF.
// eslint-disable-next-line security/detect-unsafe-regex -- a single character class, no repetition (the plugin misreads the astral range)
const FORBIDDEN_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function assertName(name: string): void {
  // Names are the client's own constants; a bad one is a programming error, never user input.
  if (!QUALIFIED_NAME.test(name)) throw new Error(`"${name}" is not an XML element or attribute name`);
}

function assertCharacters(value: string): void {
  const match = FORBIDDEN_CHARACTER.exec(value);
  if (match) throw new XmlCharacterError(match[0].codePointAt(0) ?? 0);
}

/** An element; `content` is one child or a list, `attributes` in the order given (undefined ones left out). */
export function el(
  name: string,
  content: XmlContent | readonly XmlContent[] = [],
  attributes: Record<string, string | undefined> = {},
): XmlNode {
  assertName(name);
  const attributeList: (readonly [string, string])[] = [];
  for (const [attributeName, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    assertName(attributeName);
    attributeList.push([attributeName, value]);
  }
  const children: readonly XmlContent[] = Array.isArray(content) ? content : [content as XmlContent];
  return { kind: 'xml-element', name, attributes: attributeList, children };
}

export function escapeText(value: string): string {
  assertCharacters(value);
  // '>' is escaped too so that "]]>" can never appear; '\r' as a reference so the parser does not fold it.
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

export function escapeAttribute(value: string): string {
  assertCharacters(value);
  // Tab, LF and CR as references: a parser would otherwise normalise them to spaces.
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Serializes a tree; throws XmlCharacterError when a value holds a character XML cannot carry. */
export function serializeXml(node: XmlNode): string {
  const attributes = node.attributes.map(([name, value]) => ` ${name}="${escapeAttribute(value)}"`).join('');
  let inner = '';
  for (const child of node.children) {
    if (child === undefined || child === false) continue;
    inner += typeof child === 'string' ? escapeText(child) : serializeXml(child);
  }
  return inner === '' ? `<${node.name}${attributes}/>` : `<${node.name}${attributes}>${inner}</${node.name}>`;
}

export function xmlDocument(root: XmlNode): string {
  return `<?xml version="1.0" encoding="utf-8"?>${serializeXml(root)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

/** A parsed element: local name only; attributes by local name (namespace declarations left out). */
export interface XmlElement {
  name: string;
  prefix?: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Direct character data (text and CDATA), untrimmed. */
  text: string;
}

export class XmlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlParseError';
  }
}

/** Deepest element nesting an answer may have. */
export const MAX_NESTED_ELEMENTS = 100;

// Entities are decoded here, in one pass, rather than by the parser: its default skips numeric references,
// and decoding twice would turn "&amp;lt;" into "<".
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  // PKI-WS answers nest about ten deep; the bound (the library's default, stated so an upgrade cannot drop
  // it) refuses a document nested without end before the recursive tree building below could overflow.
  maxNestedTags: MAX_NESTED_ELEMENTS,
});

const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeReferences(raw: string): string {
  return raw.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (whole, reference: string) => {
    if (reference.startsWith('#')) {
      const codePoint =
        reference[1] === 'x'
          ? Number.parseInt(reference.slice(2), 16)
          : Number.parseInt(reference.slice(1), 10);
      return codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : whole;
    }
    return PREDEFINED_ENTITIES[reference] ?? whole;
  });
}

type OrderedNode = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tagOf(node: OrderedNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@');
}

function splitName(qualifiedName: string): { local: string; prefix?: string } {
  const colon = qualifiedName.indexOf(':');
  return colon < 0
    ? { local: qualifiedName }
    : { local: qualifiedName.slice(colon + 1), prefix: qualifiedName.slice(0, colon) };
}

function rawText(nodes: unknown): string {
  if (!Array.isArray(nodes)) return '';
  return nodes
    .map((node) => (isRecord(node) && typeof node['#text'] === 'string' ? node['#text'] : ''))
    .join('');
}

function toElement(tag: string, node: OrderedNode): XmlElement {
  const { local, prefix } = splitName(tag);
  const attributes: Record<string, string> = {};
  const rawAttributes = node[':@'];
  if (isRecord(rawAttributes)) {
    for (const [name, value] of Object.entries(rawAttributes)) {
      if (name === 'xmlns' || name.startsWith('xmlns:') || typeof value !== 'string') continue;
      attributes[splitName(name).local] = decodeReferences(value.replace(/[\t\n\r]/g, ' '));
    }
  }
  const element: XmlElement = { name: local, attributes, children: [], text: '' };
  if (prefix !== undefined) element.prefix = prefix;
  const content = node[tag];
  if (Array.isArray(content)) {
    for (const child of content) {
      if (!isRecord(child)) continue;
      const childTag = tagOf(child);
      if (childTag === undefined) continue;
      if (childTag === '#text' && typeof child['#text'] === 'string') {
        element.text += decodeReferences(child['#text'].replace(/\r\n?/g, '\n'));
      } else if (childTag === '#cdata') {
        element.text += rawText(child['#cdata']);
      } else if (!childTag.startsWith('#') && !childTag.startsWith('?')) {
        element.children.push(toElement(childTag, child));
      }
    }
  }
  return element;
}

/** Parses a whole document and returns its root element; throws XmlParseError when it is not well-formed. */
export function parseXml(xml: string): XmlElement {
  // SOAP forbids DTDs; refusing them also rules out entity expansion tricks.
  if (/<!DOCTYPE/i.test(xml)) throw new XmlParseError('the document has a DTD, which SOAP does not allow');
  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    throw new XmlParseError(`not well-formed XML (line ${validation.err.line}: ${validation.err.msg})`);
  }
  let nodes: unknown;
  try {
    nodes = parser.parse(xml);
  } catch (error) {
    throw new XmlParseError(`not parseable XML (${error instanceof Error ? error.message : String(error)})`);
  }
  if (Array.isArray(nodes)) {
    for (const node of nodes) {
      if (!isRecord(node)) continue;
      const tag = tagOf(node);
      if (tag !== undefined && !tag.startsWith('#') && !tag.startsWith('?')) return toElement(tag, node);
    }
  }
  throw new XmlParseError('the document has no root element');
}

// ---------------------------------------------------------------------------------------------------------
// Finding things

function sameName(element: XmlElement, localName: string): boolean {
  return element.name.toLowerCase() === localName.toLowerCase();
}

/** Whether the element is marked xsi:nil="true". */
export function isNil(element: XmlElement): boolean {
  const nil = attribute(element, 'nil');
  return nil !== undefined && ['true', '1'].includes(nil.trim().toLowerCase());
}

/** Children with this local name (any prefix, any casing), in document order. */
export function childElements(parent: XmlElement | undefined, localName: string): XmlElement[] {
  return parent === undefined ? [] : parent.children.filter((child) => sameName(child, localName));
}

/** The first child with one of these local names (tried in order), or undefined. */
export function childElement(
  parent: XmlElement | undefined,
  ...localNames: string[]
): XmlElement | undefined {
  for (const localName of localNames) {
    const found = parent?.children.find((child) => sameName(child, localName));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Follows a path of local names, taking the first match at each step. */
export function elementAt(parent: XmlElement | undefined, ...path: string[]): XmlElement | undefined {
  let current = parent;
  for (const step of path) current = childElement(current, step);
  return current;
}

/** The element's trimmed text; undefined when absent, nil or empty. */
export function textOf(element: XmlElement | undefined): string | undefined {
  if (element === undefined || isNil(element)) return undefined;
  const value = element.text.trim();
  return value === '' ? undefined : value;
}

/** Trimmed text of the first child with one of these local names. */
export function childText(parent: XmlElement | undefined, ...localNames: string[]): string | undefined {
  return textOf(childElement(parent, ...localNames));
}

/** An attribute by local name, case-insensitively. */
export function attribute(element: XmlElement | undefined, localName: string): string | undefined {
  if (element === undefined) return undefined;
  const wanted = localName.toLowerCase();
  const key = Object.keys(element.attributes).find((name) => name.toLowerCase() === wanted);
  return key === undefined ? undefined : element.attributes[key];
}

/** The first element with this local name at any depth below `root` (depth-first, document order). */
export function findDescendant(root: XmlElement | undefined, localName: string): XmlElement | undefined {
  if (root === undefined) return undefined;
  for (const child of root.children) {
    if (sameName(child, localName)) return child;
    const deeper = findDescendant(child, localName);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/** Every element with this local name at any depth below `root`, in document order. */
export function findDescendants(root: XmlElement | undefined, localName: string): XmlElement[] {
  if (root === undefined) return [];
  return root.children.flatMap((child) => [
    ...(sameName(child, localName) ? [child] : []),
    ...findDescendants(child, localName),
  ]);
}

/** All text below an element, whitespace collapsed: for messages built from unknown fault details. */
export function allText(element: XmlElement | undefined): string {
  if (element === undefined) return '';
  const parts = [element.text, ...element.children.map(allText)];
  return parts
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ')
    .replace(/\s+/g, ' ');
}

/** True for "true"/"1" in any casing (xs:boolean), false otherwise. */
export function parseBoolean(value: string | undefined): boolean {
  return value !== undefined && ['true', '1'].includes(value.trim().toLowerCase());
}

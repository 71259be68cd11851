import {
  MAX_NESTED_ELEMENTS,
  XmlCharacterError,
  XmlParseError,
  allText,
  attribute,
  childElement,
  childElements,
  childText,
  el,
  elementAt,
  findDescendant,
  parseXml,
  serializeXml,
  textOf,
} from '../../../shared/digicert/xml';

describe('xml builder', () => {
  it('escapes text and attribute values by construction', () => {
    const xml = serializeXml(el('a:value', `<&"'>`, { note: `<&"'>\t\n` }));
    expect(xml).toBe('<a:value note="&lt;&amp;&quot;&apos;&gt;&#9;&#10;">&lt;&amp;"\'&gt;</a:value>');
  });

  it('round-trips every special character through a parse', () => {
    const nasty = `<&"'> ]]> &amp; &#65; \r\n line\ttab €𝄞`;
    const parsed = parseXml(serializeXml(el('root', el('v', nasty), { attr: nasty })));
    expect(childElement(parsed, 'v')?.text).toBe(nasty);
    expect(attribute(parsed, 'attr')).toBe(nasty);
  });

  it('writes empty elements self-closed and skips undefined/false children and attributes', () => {
    expect(serializeXml(el('r', [undefined, false, el('x'), 'y'], { a: undefined, b: '1' }))).toBe(
      '<r b="1"><x/>y</r>',
    );
  });

  it('refuses characters XML 1.0 cannot carry', () => {
    expect(() => serializeXml(el('v', 'nul\u0000'))).toThrow(XmlCharacterError);
    expect(() => serializeXml(el('v', 'esc\u001b'))).toThrow(/U\+001B/);
    expect(() => serializeXml(el('v', 'lone \ud800 surrogate'))).toThrow(XmlCharacterError);
    expect(() => serializeXml(el('v', '', { a: '\uffff' }))).toThrow(XmlCharacterError);
  });

  it('refuses names that are not XML names (programming errors)', () => {
    expect(() => el('bad name')).toThrow(/not an XML element/);
    expect(() => el('ok', [], { 'x"y': '1' })).toThrow(/not an XML element/);
  });
});

describe('xml parser', () => {
  const document = `<?xml version="1.0"?>
    <s:Envelope xmlns:s="urn:s" xmlns:p="urn:p">
      <s:Body>
        <p:Outer p:Flag="yes" plain="1">
          <p:Item>one</p:Item>
          <ITEM>two</ITEM>
          <item xmlns="urn:other">three</item>
          <p:nothing xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>
          <p:data><![CDATA[<not-markup> &amp;]]> tail</p:data>
          <p:refs>&#x41;&#66;&lt;&amp;lt;</p:refs>
        </p:Outer>
      </s:Body>
    </s:Envelope>`;

  it('drops prefixes and namespace declarations, keeps prefixes aside', () => {
    const root = parseXml(document);
    expect(root.name).toBe('Envelope');
    expect(root.prefix).toBe('s');
    const outer = elementAt(root, 'body', 'outer');
    expect(outer?.attributes).toEqual({ Flag: 'yes', plain: '1' });
    expect(attribute(outer, 'flag')).toBe('yes');
  });

  it('finds children by local name case-insensitively, in document order', () => {
    const outer = elementAt(parseXml(document), 'Body', 'Outer');
    expect(childElements(outer, 'item').map((item) => textOf(item))).toEqual(['one', 'two', 'three']);
    expect(childText(outer, 'missing', 'ITEM')).toBe('one');
    expect(findDescendant(parseXml(document), 'DATA')?.name).toBe('data');
  });

  it('treats xsi:nil and empty elements as having no text', () => {
    const outer = elementAt(parseXml(document), 'Body', 'Outer');
    expect(childText(outer, 'nothing')).toBeUndefined();
    expect(childText(outer, 'absent')).toBeUndefined();
  });

  it('keeps CDATA literally and decodes each reference exactly once', () => {
    const outer = elementAt(parseXml(document), 'Body', 'Outer');
    expect(childText(outer, 'data')).toBe('<not-markup> &amp; tail');
    expect(childText(outer, 'refs')).toBe('AB<&lt;');
  });

  it('collects all text of a subtree for messages', () => {
    expect(allText(parseXml('<a> x <b>y</b><c><d> z </d></c></a>'))).toBe('x y z');
  });

  it('rejects what is not well-formed, and any DTD', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(XmlParseError);
    expect(() => parseXml('503 Service Unavailable')).toThrow(XmlParseError);
    expect(() => parseXml('')).toThrow(XmlParseError);
    expect(() => parseXml('<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>')).toThrow(/DTD/);
  });

  it('refuses nesting deeper than MAX_NESTED_ELEMENTS, also 100,000 deep, without a stack overflow', () => {
    const nested = (depth: number) => `${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`;
    expect(parseXml(nested(MAX_NESTED_ELEMENTS)).name).toBe('a');
    // The library counts the elements above the innermost one: the bound is one or two more than stated.
    expect(() => parseXml(nested(MAX_NESTED_ELEMENTS + 2))).toThrow(/nested/i);
    expect(() => parseXml(nested(100_000))).toThrow(XmlParseError);
  });

  it('never expands an entity, declared or not (lower-case doctype, parameter entities)', () => {
    expect(() => parseXml('<!doctype a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> %p;]><a/>')).toThrow(
      /DTD/,
    );
    expect(parseXml('<a>&undeclared;&amp;</a>').text).toBe('&undeclared;&');
  });
});

import { randomBytes } from 'node:crypto';
import {
  DEFAULT_CHUNK_CHARS,
  TABLE_STRING_MAX_CHARS,
  estimateEntitySize,
  fromChunkProperties,
  splitText,
  toChunkProperties,
} from '../../../shared/ledger/chunking';

function withoutProperty(source: Readonly<Record<string, unknown>>, name: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(source).filter(([key]) => key !== name));
}

const GRINNING = '\u{1F600}'; // one code point, two UTF-16 code units

function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

describe('splitText', () => {
  it('keeps a text that fits in one chunk whole, and gives no chunk for the empty text', () => {
    expect(splitText('')).toEqual([]);
    expect(splitText('abc', 3)).toEqual(['abc']);
    expect(splitText('abcd', 3)).toEqual(['abc', 'd']);
  });

  it('cuts at the chunk size and joins back to the same text', () => {
    const text = randomBytes(100_000).toString('base64');
    const chunks = splitText(text);
    expect(chunks).toHaveLength(Math.ceil(text.length / DEFAULT_CHUNK_CHARS));
    expect(chunks.slice(0, -1).every((chunk) => chunk.length === DEFAULT_CHUNK_CHARS)).toBe(true);
    expect(chunks.join('')).toBe(text);
  });

  it('never separates the two halves of a surrogate pair', () => {
    expect(hasLoneSurrogate(`a${GRINNING.slice(0, 1)}`)).toBe(true);
    const text = `aaa${GRINNING}bbb${GRINNING}${GRINNING}`;
    const chunks = splitText(text, 4);
    expect(chunks).toEqual(['aaa', `${GRINNING}bb`, `b${GRINNING}`, GRINNING]);
    expect(chunks.filter(hasLoneSurrogate)).toEqual([]);
    expect(chunks.join('')).toBe(text);
  });

  it('refuses chunk sizes the service cannot store or that cannot hold a surrogate pair', () => {
    expect(() => splitText('abc', 1)).toThrow(RangeError);
    expect(() => splitText('abc', TABLE_STRING_MAX_CHARS + 1)).toThrow(/chunk size/);
    expect(() => splitText('abc', 2.5)).toThrow(/chunk size/);
  });
});

describe('chunk properties', () => {
  it('stores a 150 KB text as result_0…result_n with a count, and reads it back identical', () => {
    const text = `{"pfx":"${randomBytes(114_000).toString('base64')}","note":"é ${GRINNING} ✓"}`;
    expect(text.length).toBeGreaterThan(150_000);
    const properties = toChunkProperties('result', text);
    const count = Math.ceil(text.length / DEFAULT_CHUNK_CHARS);
    expect(properties.resultChunks).toBe(count);
    expect(Object.keys(properties).sort()).toEqual(
      ['resultChunks', ...Array.from({ length: count }, (_, index) => `result_${index}`)].sort(),
    );
    const longest = Math.max(...Object.values(properties).map((value) => String(value).length));
    expect(longest).toBeLessThanOrEqual(TABLE_STRING_MAX_CHARS);
    expect(fromChunkProperties(properties, 'result')).toBe(text);
  });

  it('tells an empty text (count 0) from no text (no count)', () => {
    expect(toChunkProperties('events', '')).toEqual({ eventsChunks: 0 });
    expect(fromChunkProperties({ eventsChunks: 0 }, 'events')).toBe('');
    expect(fromChunkProperties({ other: 'x' }, 'events')).toBeUndefined();
  });

  it('refuses a partial text: a missing chunk or a bad count is an error naming the property', () => {
    const properties = toChunkProperties('result', 'x'.repeat(10), 4);
    const missingOne = withoutProperty(properties, 'result_1');
    expect(() => fromChunkProperties(missingOne, 'result')).toThrow(/result_1 \(chunk 2 of 3\)/);
    expect(() => fromChunkProperties({ ...properties, result_2: 7 }, 'result')).toThrow(/result_2/);
    expect(() => fromChunkProperties({ resultChunks: -1 }, 'result')).toThrow(/resultChunks/);
    expect(() => fromChunkProperties({ resultChunks: '3' }, 'result')).toThrow(/resultChunks/);
    expect(() => fromChunkProperties({ resultChunks: 1.5 }, 'result')).toThrow(/resultChunks/);
  });
});

describe('estimateEntitySize', () => {
  it('counts as the service documents: 4 + keys in UTF-16 + per property 8 + name + value', () => {
    const size = estimateEntitySize({ partitionKey: 'ab', rowKey: 'request', state: 'issued', count: 3 });
    // 4 + (2 + 7) * 2 + [8 + 5*2 + 4 + 6*2] + [8 + 5*2 + 8]
    expect(size).toBe(4 + 18 + 34 + 26);
  });

  it('grows by two bytes per character of a string value', () => {
    const small = estimateEntitySize({ partitionKey: 'p', rowKey: 'r', text: 'a' });
    const large = estimateEntitySize({ partitionKey: 'p', rowKey: 'r', text: 'a'.repeat(1001) });
    expect(large - small).toBe(2000);
  });
});

import { formatDuration, renderTable } from '../../../bench/report';
import { median, percentile, ratio, roundOrder, summarize } from '../../../bench/stats';

describe('bench statistics', () => {
  it('takes the middle value, or the mean of the two middle ones, whatever the input order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('uses the nearest rank for p95: the 19th of 20 samples, the largest of fewer', () => {
    const twenty = Array.from({ length: 20 }, (_, index) => index + 1);
    expect(percentile(twenty, 0.95)).toBe(19);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8], 0.95)).toBe(8);
    expect(summarize([...twenty].reverse())).toEqual({
      n: 20,
      median: 10.5,
      p95: 19,
      min: 1,
      max: 20,
      mean: 10.5,
    });
  });

  it('refuses empty samples and a zero baseline instead of reporting NaN', () => {
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => ratio(3, 0)).toThrow(RangeError);
    expect(ratio(3, 2)).toBe(1.5);
  });

  it('rotates the variants so each takes every position equally often', () => {
    const orders = [0, 1, 2].map((round) => roundOrder(['a', 'b', 'c'], round).join(''));
    expect(orders).toEqual(['abc', 'bca', 'cab']);
    expect([0, 1].map((round) => roundOrder(['x', 'y'], round).join(''))).toEqual(['xy', 'yx']);
  });

  it('prints durations with three significant digits in a fitting unit', () => {
    expect(formatDuration(0.0123)).toBe('12.3 µs');
    expect(formatDuration(45.678)).toBe('45.7 ms');
    expect(formatDuration(2345)).toBe('2.35 s');
  });

  it('aligns the first column left and the figures right', () => {
    expect(
      renderTable({
        columns: ['step', 'median'],
        rows: [
          ['csr', '1 ms'],
          ['plan', '100 µs'],
        ],
      }),
    ).toBe(['step  median', '----  ------', 'csr     1 ms', 'plan  100 µs'].join('\n'));
  });
});

/**
 * What a benchmark group hands back (a table for people, data for --json) and how it is printed.
 */
import type { Summary } from './stats';

export interface Table {
  columns: string[];
  rows: string[][];
}

export interface Section {
  title: string;
  tables: Table[];
  /** How to read the figures: what was measured, what is excluded. */
  notes: string[];
  /** The same figures as numbers (milliseconds, ratios), for --json. */
  data: Record<string, unknown>;
}

/** 12.3 µs, 4.56 ms, 1.23 s: three significant digits in a unit that suits the value. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

export function formatRatio(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}

/** Figures for --json: milliseconds rounded to a microsecond, the rest as they are. */
export function summaryData(summary: Summary): Record<string, number> {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return {
    n: summary.n,
    medianMs: round(summary.median),
    p95Ms: round(summary.p95),
    minMs: round(summary.min),
    maxMs: round(summary.max),
    meanMs: round(summary.mean),
  };
}

export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A plain-text table: first column left-aligned, figures right-aligned. */
export function renderTable(table: Table): string {
  const widths = table.columns.map((column, index) =>
    Math.max(column.length, ...table.rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!)))
      .join('  ')
      .trimEnd();
  return [
    line(table.columns),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...table.rows.map(line),
  ].join('\n');
}

export function renderSection(section: Section): string {
  const parts = [section.title, '='.repeat(section.title.length)];
  for (const table of section.tables) parts.push(renderTable(table), '');
  for (const note of section.notes) parts.push(`  · ${note}`);
  return parts.join('\n').trimEnd();
}

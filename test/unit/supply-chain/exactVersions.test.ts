/**
 * Supply chain: every dependency pinned to one exact version, the lockfile (v3) decides the whole tree, and CI
 * installs from it alone (`npm ci`) and audits the production tree. A caret range would resolve differently on
 * another machine (toolchain notes: npm on Node 20 picks other versions than on Node 22).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  overrides?: Record<string, string>;
  scripts: Record<string, string>;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;
}

const manifest = readJson<Manifest>('package.json');
const lock = readJson<{ lockfileVersion: number; packages: Record<string, LockEntry> }>('package-lock.json');

/** x.y.z with an optional pre-release: no ^ ~ * x, ranges, tags, URLs or git references. */
const EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

describe('package.json', () => {
  it.each(['dependencies', 'devDependencies', 'overrides'] as const)(
    'pins every %s entry exactly',
    (field) => {
      const ranged = Object.entries(manifest[field] ?? {}).filter(([, version]) => !EXACT.test(version));
      expect(ranged).toEqual([]);
    },
  );

  it('the test recognises ranges', () => {
    for (const range of [
      '^1.2.3',
      '~1.2.3',
      '*',
      '1.x',
      '1.2.x',
      '>=1.2.3',
      '1.2.3 - 2',
      'latest',
      'github:a/b',
    ])
      expect(EXACT.test(range)).toBe(false);
    for (const exact of ['1.2.3', '1.0.0-beta.42']) expect(EXACT.test(exact)).toBe(true);
  });
});

describe('package-lock.json', () => {
  it('is lockfile version 3 and lists exactly package.json’s dependencies at its root', () => {
    expect(lock.lockfileVersion).toBe(3);
    const root = lock.packages[''];
    expect(root?.dependencies ?? {}).toEqual(manifest.dependencies ?? {});
    expect(root?.devDependencies ?? {}).toEqual(manifest.devDependencies ?? {});
  });

  it('pins every installed package to a version and an integrity hash', () => {
    const loose = Object.entries(lock.packages)
      .filter(([location, entry]) => location !== '' && entry.link !== true)
      .filter(([, entry]) => entry.version === undefined || !/^sha512-/.test(entry.integrity ?? ''))
      .map(([location]) => location);
    expect(loose).toEqual([]);
  });

  it('has each direct dependency installed at the version package.json pins', () => {
    const wanted = { ...manifest.dependencies, ...manifest.devDependencies };
    const differing = Object.entries(wanted).filter(
      ([name, version]) => lock.packages[`node_modules/${name}`]?.version !== version,
    );
    expect(differing).toEqual([]);
  });
});

describe('.ci/run', () => {
  const script = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
  const commands = script.split('\n').filter((line) => !line.trim().startsWith('#'));

  it('installs with npm ci only, never npm install', () => {
    expect(commands.some((line) => /^\s*npm ci\b/.test(line))).toBe(true);
    expect(commands.filter((line) => /\bnpm (?:install|i|add|update)\b/.test(line))).toEqual([]);
  });

  it('audits the production dependencies before the tests', () => {
    const audit = commands.findIndex((line) => /^\s*npm run -s audit\b/.test(line));
    const test = commands.findIndex((line) => /^\s*npm test\b/.test(line));
    expect(audit).toBeGreaterThan(-1);
    expect(audit).toBeLessThan(test);
    expect(manifest.scripts.audit).toMatch(/dev\/audit\/run\.js/);
  });
});

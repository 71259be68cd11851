/** The pure parts of `npm run build`: arguments, the production manifest and lock, the output-folder guard. */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildError } from '../../../cli/build/buildError';
import {
  FUNCTIONS_MAIN,
  isBuildTimeOnly,
  productionLockfile,
  productionManifest,
  topLevelLocations,
} from '../../../cli/build/productionDependencies';
import { BUILD_MARKER, buildPackage, parseBuildArguments } from '../../../cli/buildPackage';

describe('build arguments', () => {
  it('default to build/ in the repository, then BUILD_OUT_DIR, then --out', () => {
    expect(parseBuildArguments([], {}, '/repo')).toEqual({
      outDir: path.join('/repo', 'build'),
      zip: 'auto',
    });
    expect(parseBuildArguments([], { BUILD_OUT_DIR: '/elsewhere' }, '/repo').outDir).toBe('/elsewhere');
    expect(
      parseBuildArguments(['--out', '/x', '--zip', 'none'], { BUILD_OUT_DIR: '/elsewhere' }, '/repo'),
    ).toEqual({
      outDir: '/x',
      zip: 'none',
    });
  });

  it('refuse what they do not know', () => {
    expect(() => parseBuildArguments(['--zip', 'rar'], {}, '/repo')).toThrow(
      /unknown or incomplete argument "--zip"/,
    );
    expect(() => parseBuildArguments(['--out'], {}, '/repo')).toThrow(BuildError);
    expect(() => parseBuildArguments(['--watch'], {}, '/repo')).toThrow(/"--watch"/);
  });
});

describe('production manifest and lock', () => {
  const root = {
    name: 'broker',
    version: '1.2.3',
    license: 'UNLICENSED',
    main: 'somewhere.js',
    scripts: { test: 'jest' },
    engines: { node: '>=20' },
    dependencies: { a: '1.0.0' },
    devDependencies: { jest: '30.0.0' },
    overrides: { c: '2.0.0' },
  };

  it('keep the run-time dependencies and overrides, and drop scripts and devDependencies', () => {
    expect(productionManifest(root)).toEqual({
      name: 'broker',
      version: '1.2.3',
      license: 'UNLICENSED',
      main: FUNCTIONS_MAIN,
      engines: { node: '>=20' },
      dependencies: { a: '1.0.0' },
      overrides: { c: '2.0.0' },
    });
  });

  it('keep only the packages npm ci --omit=dev would install', () => {
    const lock = {
      name: 'broker',
      version: '1.2.3',
      lockfileVersion: 3,
      packages: {
        '': { name: 'broker', version: '1.2.3', devDependencies: { jest: '30.0.0' } },
        'node_modules/a': { version: '1.0.0' },
        'node_modules/a/node_modules/b': { version: '1.0.0' },
        'node_modules/c': { version: '2.0.0', optional: true },
        'node_modules/jest': { version: '30.0.0', dev: true },
        'node_modules/d': { version: '1.0.0', devOptional: true },
      },
    };
    const reduced = productionLockfile(lock, productionManifest(root));
    expect(Object.keys(reduced.packages)).toEqual([
      '',
      'node_modules/a',
      'node_modules/a/node_modules/b',
      'node_modules/c',
    ]);
    expect(reduced.packages['']).toEqual({
      name: 'broker',
      version: '1.2.3',
      license: 'UNLICENSED',
      dependencies: { a: '1.0.0' },
      engines: { node: '>=20' },
    });
    expect(topLevelLocations(reduced.packages)).toEqual(['node_modules/a', 'node_modules/c']);
    expect(() => productionLockfile({ ...lock, lockfileVersion: 1 }, productionManifest(root))).toThrow(
      /lockfileVersion 2 or 3/,
    );
  });
});

describe('files left out of the copied packages', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pkcs-broker-parts-'));
    mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    mkdirSync(path.join(dir, 'types.d.ts'));
    for (const name of ['index.js', 'index.d.ts', 'index.d.mts', 'index.js.map', 'schema.json', 'map.js']) {
      writeFileSync(path.join(dir, name), '');
    }
    symlinkSync(path.join(dir, 'index.js'), path.join(dir, 'link.js'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are declarations, source maps and command links; code and data stay', () => {
    const left = ['node_modules/.bin', 'index.d.ts', 'index.d.mts', 'index.js.map'];
    const kept = ['index.js', 'schema.json', 'map.js', 'link.js', 'types.d.ts', 'node_modules'];
    expect(left.filter((name) => !isBuildTimeOnly(path.join(dir, name)))).toEqual([]);
    expect(kept.filter((name) => isBuildTimeOnly(path.join(dir, name)))).toEqual([]);
  });
});

describe('the output folder', () => {
  let scratch: string;
  let fakeRepo: string;

  beforeAll(() => {
    // A stand-in repository named "app", so a wrong guard could only ever touch this scratch folder.
    scratch = mkdtempSync(path.join(os.tmpdir(), 'pkcs-broker-guard-'));
    fakeRepo = path.join(scratch, 'app');
    mkdirSync(path.join(fakeRepo, 'shared'), { recursive: true });
    writeFileSync(path.join(fakeRepo, 'package.json'), '{"name":"x","version":"1.0.0"}');
    writeFileSync(path.join(fakeRepo, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}');
    writeFileSync(path.join(fakeRepo, 'host.json'), '{}');
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const build = (outDir: string) => () => buildPackage({ repoRoot: fakeRepo, outDir, zip: 'none' });

  it('may not be one whose app/ would be the repository', () => {
    expect(build(scratch)).toThrow(/refusing to build into .*would contain the repository/);
    expect(readdirSync(fakeRepo).sort()).toEqual([
      'host.json',
      'package-lock.json',
      'package.json',
      'shared',
    ]);
  });

  it('may not be inside the sources', () => {
    expect(build(path.join(fakeRepo, 'shared'))).toThrow(/inside shared\//);
    expect(build(path.join(fakeRepo, 'shared', 'deeper'))).toThrow(/inside shared\//);
  });

  it('may not hold an app/ or zip the build did not make', () => {
    const foreign = path.join(scratch, 'foreign');
    mkdirSync(path.join(foreign, 'app'), { recursive: true });
    writeFileSync(path.join(foreign, 'app', 'precious.txt'), 'keep me');
    expect(build(foreign)).toThrow(new RegExp(`not made by npm run build \\(no \\${BUILD_MARKER}`));
    expect(readFileSync(path.join(foreign, 'app', 'precious.txt'), 'utf8')).toBe('keep me');
  });
});

/**
 * `npm run build` end to end, into a folder outside the repository (so Node cannot fall back on the
 * repository's node_modules): the layout the Functions host expects, nothing of dev/test/bench/cli or the
 * devDependencies inside, every compiled module loadable with the package's own production dependencies,
 * the reduced lock consistent with the copied tree, and a zip that holds exactly the app folder.
 */
import { spawnSync } from 'node:child_process';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FUNCTIONS_MAIN } from '../../../cli/build/productionDependencies';
import { writeZip } from '../../../cli/build/zipWriter';
import { buildPackage, type BuildResult } from '../../../cli/buildPackage';
import { REPO_ROOT } from '../../support/teamShared';
import { zipEntryNames } from './zipListing';

interface Manifest {
  main?: string;
  scripts?: unknown;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

interface Lock {
  packages: Record<string, { dev?: boolean; version?: string; devDependencies?: unknown }>;
}

function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory()
      ? filesUnder(full, base)
      : [path.relative(base, full).split(path.sep).join('/')];
  });
}

const hasUnzip = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0;
const hasPython = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;

/** A second standard reader: Python's zipfile reads every entry back and checks its CRC (ZIP64 included). */
function pythonZipTest(zipFile: string): { status: number | null; output: string } {
  const script =
    'import sys, zipfile\n' +
    'with zipfile.ZipFile(sys.argv[1]) as archive:\n' +
    '    bad = archive.testzip()\n' +
    '    print(len(archive.infolist()), bad)\n' +
    '    sys.exit(0 if bad is None else 1)\n';
  const run = spawnSync('python3', ['-c', script, zipFile], { encoding: 'utf8' });
  return { status: run.status, output: (run.stdout + run.stderr).trim() };
}
const rootManifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
const rootLock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lock;

describe('npm run build', () => {
  let outDir: string;
  let result: BuildResult;
  let appFiles: string[];

  beforeAll(() => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'pkcs-broker-build-test-'));
    result = buildPackage({ repoRoot: REPO_ROOT, outDir });
    appFiles = filesUnder(result.appDir);
  }, 240_000);

  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('lays the app out as the Functions host expects', () => {
    expect(result.appDir).toBe(path.join(outDir, 'app'));
    expect(readFileSync(path.join(result.appDir, 'host.json'), 'utf8')).toBe(
      readFileSync(path.join(REPO_ROOT, 'host.json'), 'utf8'),
    );
    const manifest = JSON.parse(readFileSync(path.join(result.appDir, 'package.json'), 'utf8')) as Manifest;
    expect(manifest.main).toBe(FUNCTIONS_MAIN);
    expect(manifest.dependencies).toEqual(rootManifest.dependencies);
    expect(manifest.scripts).toBeUndefined();
    expect(manifest.devDependencies).toBeUndefined();
    const functionFiles = appFiles.filter((file) => /^dist\/functions\/[^/]+\.js$/.test(file));
    const functionSources = readdirSync(path.join(REPO_ROOT, 'functions')).filter((name) =>
      name.endsWith('.ts'),
    );
    expect(functionFiles.map((file) => path.basename(file, '.js')).sort()).toEqual(
      functionSources.map((name) => path.basename(name, '.ts')).sort(),
    );
    expect(appFiles).toEqual(
      expect.arrayContaining([
        'dist/functions/issuePkcsCertificate.js',
        'dist/functions/pkcsRequestPoison.js',
        'dist/shared/contract/schemas/request.v1.schema.json',
        'dist/shared/contract/schemas/result.v1.schema.json',
        'package-lock.json',
      ]),
    );
  });

  it('holds nothing from dev/, test/, bench/ or cli/, no sources, maps, declarations or local settings', () => {
    const outsideModules = appFiles.filter((file) => !file.startsWith('node_modules/'));
    const unexpected = outsideModules.filter(
      (file) =>
        !['host.json', 'package.json', 'package-lock.json'].includes(file) &&
        !/^dist\/(functions|shared)\//.test(file),
    );
    expect(unexpected).toEqual([]);
    expect(outsideModules.filter((file) => /\.(ts|map)$|tsbuildinfo|local\.settings/.test(file))).toEqual([]);
    // Type declarations and source maps of the packages are left out: Node never loads them.
    expect(appFiles.filter((file) => /\.d\.[cm]?ts$|\.map$/.test(file))).toEqual([]);
  });

  it('holds the production packages of the lock and none of the development ones', () => {
    const devOnly = Object.entries(rootLock.packages)
      .filter(([location, entry]) => location.startsWith('node_modules/') && entry.dev === true)
      .map(([location]) => location);
    expect(devOnly.length).toBeGreaterThan(100); // jest, typescript, eslint, azurite … are in the lock
    const present = devOnly.filter((location) => {
      try {
        return statSync(path.join(result.appDir, location)).isDirectory();
      } catch {
        return false;
      }
    });
    expect(present).toEqual([]);
    // A devDependency may also be a production package's dependency (@types/node is); the tools never are.
    for (const tool of ['typescript', 'jest', 'ts-jest', 'eslint', 'prettier', 'azurite']) {
      expect(Object.keys(rootManifest.devDependencies ?? {})).toContain(tool);
      expect(appFiles.some((file) => file.startsWith(`node_modules/${tool}/`))).toBe(false);
    }
    const lock = JSON.parse(readFileSync(path.join(result.appDir, 'package-lock.json'), 'utf8')) as Lock;
    expect(lock.packages[''].devDependencies).toBeUndefined();
    expect(Object.values(lock.packages).filter((entry) => entry.dev === true)).toEqual([]);
    // npm itself agrees the reduced lock, the manifest and the copied tree match (no missing or extraneous).
    const ls = spawnSync('npm', ['ls', '--all', '--omit=dev', '--offline'], {
      cwd: result.appDir,
      encoding: 'utf8',
    });
    expect({
      status: ls.status,
      problems: (ls.stdout + ls.stderr).match(/.*(\b(missing|invalid|extraneous)\b|npm ERR!|npm error).*/gi),
    }).toEqual({
      status: 0,
      problems: null,
    });
  });

  it("loads every compiled module with only the package's own dependencies", () => {
    const script = `
      const fs = require('node:fs');
      const path = require('node:path');
      const walk = (dir) => fs.readdirSync(dir).flatMap((name) => {
        const full = path.join(dir, name);
        return fs.statSync(full).isDirectory() ? walk(full) : full.endsWith('.js') ? [full] : [];
      });
      for (const file of walk('dist')) require(path.resolve(file));
      const resolved = ['@azure/functions', 'applicationinsights', 'node-forge', 'undici'].map((name) => require.resolve(name));
      process.stdout.write(JSON.stringify(resolved));
    `;
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: '' };
    delete env.NODE_OPTIONS;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: result.appDir, env, encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr.replace(/^WARNING: .*\n?/gm, '') }).toEqual({
      status: 0,
      stderr: '',
    });
    for (const resolved of JSON.parse(run.stdout) as string[]) {
      expect(resolved.startsWith(path.join(result.appDir, 'node_modules') + path.sep)).toBe(true);
    }
  });

  it('zips exactly the app folder', () => {
    expect(result.zipFile).toBe(path.join(outDir, 'pkcs-broker.zip'));
    const names = zipEntryNames(readFileSync(result.zipFile as string)).filter((name) => !name.endsWith('/'));
    expect(names.sort()).toEqual([...appFiles].sort());
    if (hasUnzip) {
      expect(spawnSync('unzip', ['-tq', result.zipFile as string], { encoding: 'utf8' }).status).toBe(0);
    }
    if (hasPython) expect(pythonZipTest(result.zipFile as string).status).toBe(0);
  });
});

describe('the built-in zip writer (machines without the zip command)', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'pkcs-broker-zip-test-'));
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const contentOf = (name: string, index: number): string =>
    index % 3 === 0 ? '' : `file ${name} `.repeat(index);

  function makeTree(root: string, directories: number, filesPerDirectory: number): string[] {
    const made: string[] = [];
    for (let d = 0; d < directories; d++) {
      const dir = path.join(root, `d${d}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < filesPerDirectory; f++) {
        const name = `d${d}/f${f}.txt`;
        writeFileSync(path.join(root, name), contentOf(name, f));
        made.push(name);
      }
    }
    return made;
  }

  /**
   * The same layout, but each folder's files are hard links to one file of their own (kept outside `root`,
   * empty, short or compressible in turn): a zip entry per name all the same, at the cost of a directory
   * entry instead of a new file (65,535 new files take 15-20 s on ext4, the links well under 1 s).
   */
  function makeLinkedTree(root: string, directories: number, filesPerDirectory: number): void {
    const seeds = `${root}-seeds`;
    mkdirSync(seeds, { recursive: true });
    for (let d = 0; d < directories; d++) {
      const seed = path.join(seeds, `d${d}.txt`);
      writeFileSync(seed, contentOf(`d${d}`, d % 50));
      mkdirSync(path.join(root, `d${d}`), { recursive: true });
      for (let f = 0; f < filesPerDirectory; f++) linkSync(seed, path.join(root, `d${d}`, `f${f}.txt`));
    }
  }

  it('writes a zip that unzip reads back byte for byte', () => {
    const source = path.join(scratch, 'small');
    const files = makeTree(source, 3, 7);
    const zipFile = path.join(scratch, 'small.zip');
    expect(writeZip(source, zipFile).entries).toBe(3 + 21);
    const names = zipEntryNames(readFileSync(zipFile));
    expect(names.filter((name) => !name.endsWith('/')).sort()).toEqual(files.sort());
    if (hasPython) expect(pythonZipTest(zipFile)).toEqual({ status: 0, output: `${3 + 21} None` });
    if (!hasUnzip) return;
    const extracted = path.join(scratch, 'small-extracted');
    expect(spawnSync('unzip', ['-q', zipFile, '-d', extracted]).status).toBe(0);
    for (const file of files) {
      expect(readFileSync(path.join(extracted, file))).toEqual(readFileSync(path.join(source, file)));
    }
  });

  it('writes ZIP64 end records past 65,535 entries', () => {
    const source = path.join(scratch, 'many');
    makeLinkedTree(source, 257, 255); // 257 directories + 65,535 files
    const zipFile = path.join(scratch, 'many.zip');
    expect(writeZip(source, zipFile).entries).toBe(257 + 65_535);
    expect(zipEntryNames(readFileSync(zipFile))).toHaveLength(257 + 65_535);
    if (hasUnzip) expect(spawnSync('unzip', ['-tq', zipFile]).status).toBe(0);
    if (hasPython) expect(pythonZipTest(zipFile)).toEqual({ status: 0, output: `${257 + 65_535} None` });
  }, 120_000);
});

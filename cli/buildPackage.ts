/**
 * `npm run build -- [--out <dir>] [--zip auto|node|none]`: the deployable Function App.
 *
 *   <out>/app/                 what `func azure functionapp publish` (run inside it) and the Functions host expect:
 *     host.json
 *     package.json             name, version, main "dist/functions/*.js", dependencies (no scripts, no devDependencies)
 *     package-lock.json        the repository's lock reduced to the production packages
 *     dist/functions/**.js     compiled afresh from functions/ and shared/ only (never dev/, test/, bench/, cli/)
 *     dist/shared/**           (+ the contract JSON schemas the compiler copies)
 *     node_modules/            the production packages of the lock, copied from the installed tree (without
 *                              type declarations and source maps, which Node never loads)
 *   <out>/pkcs-broker.zip      the same folder zipped, for `az functionapp deployment source config-zip`
 *
 * <out> defaults to build/ in the repository; --out or BUILD_OUT_DIR choose another. Production code is compiled
 * on its own (without jest's types and without dist/'s leftovers), so anything it imports from dev/ or test/, and
 * any stale file of a removed function, cannot reach the package.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export const ZIP_NAME = 'pkcs-broker.zip';
export const APP_DIR_NAME = 'app';
export const FUNCTIONS_MAIN = 'dist/functions/*.js';

export type ZipMode = 'auto' | 'node' | 'none';

export interface BuildOptions {
  repoRoot: string;
  /** Receives app/ and pkcs-broker.zip; only those two are replaced. */
  outDir: string;
  /** auto: the `zip` command if installed, else the built-in writer; none: no zip. */
  zip?: ZipMode;
  log?: (line: string) => void;
}

export interface BuildResult {
  appDir: string;
  zipFile?: string;
  zipTool?: 'zip' | 'node';
  /** Compiled files in app/dist. */
  compiledFiles: number;
  /** Production packages copied into app/node_modules. */
  packages: number;
}

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

interface PackageManifest {
  name: string;
  version: string;
  description?: string;
  private?: boolean;
  license?: string;
  main?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  overrides?: Record<string, unknown>;
  scripts?: Record<string, string>;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
  extraneous?: boolean;
  [field: string]: unknown;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/** The app's package.json: what the host and npm need at run time, nothing of the development set-up. */
export function productionManifest(root: PackageManifest): PackageManifest {
  const manifest: PackageManifest = { name: root.name, version: root.version };
  if (root.description !== undefined) manifest.description = root.description;
  if (root.private !== undefined) manifest.private = root.private;
  if (root.license !== undefined) manifest.license = root.license;
  manifest.main = FUNCTIONS_MAIN;
  if (root.engines !== undefined) manifest.engines = root.engines;
  manifest.dependencies = { ...(root.dependencies ?? {}) };
  // Overrides pin versions inside the production tree too; without them the lock would not match.
  if (root.overrides !== undefined) manifest.overrides = root.overrides;
  return manifest;
}

/** True for a lock entry that `npm ci --omit=dev` would not install. */
function isDevOnly(entry: LockEntry): boolean {
  return entry.dev === true || entry.devOptional === true || entry.extraneous === true;
}

/** The repository's lock reduced to the production packages, with the app's manifest as its root. */
export function productionLockfile(lock: Lockfile, manifest: PackageManifest): Lockfile {
  if (typeof lock.lockfileVersion !== 'number' || lock.lockfileVersion < 2 || lock.packages === undefined) {
    throw new BuildError('package-lock.json must be lockfileVersion 2 or 3 (npm 7 or later)');
  }
  const packages: Record<string, LockEntry> = {};
  const rootEntry: LockEntry = { name: manifest.name, version: manifest.version };
  if (manifest.license !== undefined) rootEntry.license = manifest.license;
  rootEntry.dependencies = manifest.dependencies;
  if (manifest.engines !== undefined) rootEntry.engines = manifest.engines;
  packages[''] = rootEntry;
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (location === '' || isDevOnly(entry)) continue;
    if (entry.link === true)
      throw new BuildError(`${location} is a linked package (workspace); not supported`);
    packages[location] = entry;
  }
  return {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: lock.lockfileVersion,
    requires: true,
    packages,
  };
}

/** The lock locations to copy: production packages not already inside another copied package's folder. */
export function topLevelLocations(packages: Record<string, LockEntry>): string[] {
  const locations = Object.keys(packages)
    .filter((location) => location.startsWith('node_modules/'))
    .sort();
  const roots: string[] = [];
  for (const location of locations) {
    if (!roots.some((root) => location.startsWith(`${root}/`))) roots.push(location);
  }
  return roots;
}

export function findRepoRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'host.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new BuildError(`no repository (package.json beside host.json) above ${start}`);
    dir = parent;
  }
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new BuildError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function filesUnder(dir: string, base = dir): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...filesUnder(full, base));
    else found.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return found;
}

/** Compiles functions/ and shared/ alone into `outDist`, with the repository's compiler settings. */
function compileProduction(repoRoot: string, outDist: string): string[] {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pkcs-broker-build-'));
  try {
    const tsconfig = path.join(scratch, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify(
        {
          extends: path.join(repoRoot, 'tsconfig.json'),
          compilerOptions: {
            outDir: outDist,
            rootDir: repoRoot,
            sourceMap: false,
            declaration: false,
            incremental: false,
            noEmitOnError: true,
            // Node's types only: production code must not lean on the test runner's globals.
            types: ['node'],
            typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
          },
          include: [
            path.join(repoRoot, 'functions', '**', '*.ts'),
            path.join(repoRoot, 'shared', '**', '*.ts'),
          ],
        },
        null,
        2,
      ),
    );
    const tsc = require.resolve('typescript/bin/tsc', { paths: [repoRoot] });
    const run = spawnSync(process.execPath, [tsc, '-p', tsconfig], { cwd: repoRoot, encoding: 'utf8' });
    if (run.status !== 0) {
      throw new BuildError(`the production code does not compile:\n${(run.stdout + run.stderr).trim()}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const emitted = existsSync(outDist) ? filesUnder(outDist) : [];
  // An import from dev/, test/, bench/ or cli/ pulls that file into the program and out beside dist/shared.
  const strays = emitted.filter((file) => !file.startsWith('functions/') && !file.startsWith('shared/'));
  if (strays.length > 0) {
    throw new BuildError(
      `production code imports files that must not deploy: ${strays.map((file) => `dist/${file}`).join(', ')}`,
    );
  }
  if (!emitted.some((file) => /^functions\/[^/]+\.js$/.test(file))) {
    throw new BuildError('no function was compiled (functions/*.ts)');
  }
  return emitted;
}

/**
 * Files of installed packages that Node never loads: type declarations, source maps (about 60 % of the files
 * and of the bytes of our production tree) and the links to command-line tools, which serve installs.
 */
export function isBuildTimeOnly(file: string): boolean {
  const name = path.basename(file);
  if (name === '.bin' && path.basename(path.dirname(file)) === 'node_modules') return true;
  return /\.d\.[cm]?ts$|\.map$/.test(name) && !statSync(file).isDirectory();
}

/** Copies the production packages of `lock` from the installed tree; all must be present at their locked version. */
function copyProductionPackages(repoRoot: string, appDir: string, lock: Lockfile): number {
  let copied = 0;
  for (const location of topLevelLocations(lock.packages)) {
    const source = path.join(repoRoot, ...location.split('/'));
    if (!existsSync(source)) {
      if (lock.packages[location].optional === true) continue; // another platform's optional package
      throw new BuildError(`${location} is not installed: run npm ci first`);
    }
    cpSync(source, path.join(appDir, ...location.split('/')), {
      recursive: true,
      dereference: true,
      filter: (file) => !isBuildTimeOnly(file),
    });
    copied++;
  }
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (location === '') continue;
    const manifestFile = path.join(appDir, ...location.split('/'), 'package.json');
    if (!existsSync(manifestFile)) {
      if (entry.optional === true) continue;
      throw new BuildError(`${location} is missing from the copied tree: run npm ci first`);
    }
    const installed = readJson<PackageManifest>(manifestFile).version;
    if (entry.version !== undefined && installed !== entry.version) {
      throw new BuildError(`${location} is ${installed}, the lock says ${entry.version}: run npm ci first`);
    }
  }
  return copied;
}

function hasZipCommand(): boolean {
  return spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
}

const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;

/**
 * Writes `sourceDir` as a zip (deflate, UTF-8 names, Unix modes, ZIP64 end records past 65,535 entries), for
 * machines without the `zip` command. Entries are sorted and dated 1980-01-01, so equal input gives equal bytes.
 */
export function writeZip(sourceDir: string, zipFile: string): { entries: number } {
  const entries: Array<{
    name: Buffer;
    crc: number;
    method: number;
    compressed: number;
    size: number;
    offset: number;
    mode: number;
  }> = [];
  const fd = openSync(zipFile, 'w');
  let offset = 0;
  const write = (buffer: Buffer): void => {
    writeSync(fd, buffer);
    offset += buffer.length;
  };
  const limit = 0xffffffff;
  try {
    const walk = (dir: string, prefix: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const full = path.join(dir, name);
        const stat = statSync(full);
        const entryName = prefix + name + (stat.isDirectory() ? '/' : '');
        const nameBytes = Buffer.from(entryName, 'utf8');
        const data = stat.isDirectory() ? Buffer.alloc(0) : readFileSync(full);
        const deflated = data.length > 0 ? deflateRawSync(data) : data;
        const method = deflated.length < data.length ? 8 : 0;
        const body = method === 8 ? deflated : data;
        const crc = crc32(data);
        if (offset > limit || body.length > limit || data.length > limit) {
          throw new BuildError('the package is larger than 4 GB, which this zip writer does not support');
        }
        const header = Buffer.alloc(30);
        header.writeUInt32LE(0x04034b50, 0);
        header.writeUInt16LE(20, 4); // version needed: 2.0
        header.writeUInt16LE(0x0800, 6); // names are UTF-8
        header.writeUInt16LE(method, 8);
        header.writeUInt16LE(0, 10); // time 00:00
        header.writeUInt16LE(DOS_DATE_1980_01_01, 12);
        header.writeUInt32LE(crc, 14);
        header.writeUInt32LE(body.length, 18);
        header.writeUInt32LE(data.length, 22);
        header.writeUInt16LE(nameBytes.length, 26);
        header.writeUInt16LE(0, 28);
        entries.push({
          name: nameBytes,
          crc,
          method,
          compressed: body.length,
          size: data.length,
          offset,
          mode: stat.mode,
        });
        write(header);
        write(nameBytes);
        write(body);
        if (stat.isDirectory()) walk(full, entryName);
      }
    };
    walk(sourceDir, '');
    const directoryOffset = offset;
    for (const entry of entries) {
      const record = Buffer.alloc(46);
      record.writeUInt32LE(0x02014b50, 0);
      record.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, zip 2.0
      record.writeUInt16LE(20, 6);
      record.writeUInt16LE(0x0800, 8);
      record.writeUInt16LE(entry.method, 10);
      record.writeUInt16LE(0, 12);
      record.writeUInt16LE(DOS_DATE_1980_01_01, 14);
      record.writeUInt32LE(entry.crc, 16);
      record.writeUInt32LE(entry.compressed, 20);
      record.writeUInt32LE(entry.size, 24);
      record.writeUInt16LE(entry.name.length, 28);
      record.writeUInt16LE(0, 30); // extra
      record.writeUInt16LE(0, 32); // comment
      record.writeUInt16LE(0, 34); // disk
      record.writeUInt16LE(0, 36); // internal attributes
      const directoryFlag = entry.name[entry.name.length - 1] === 0x2f ? 0x10 : 0;
      record.writeUInt32LE((((entry.mode & 0xffff) << 16) | directoryFlag) >>> 0, 38);
      record.writeUInt32LE(entry.offset, 42);
      write(record);
      write(entry.name);
    }
    const directorySize = offset - directoryOffset;
    const needsZip64 = entries.length > 0xffff || directoryOffset > limit || directorySize > limit;
    if (needsZip64) {
      const zip64EndOffset = offset;
      const zip64End = Buffer.alloc(56);
      zip64End.writeUInt32LE(0x06064b50, 0);
      zip64End.writeBigUInt64LE(44n, 4); // size of the rest of this record
      zip64End.writeUInt16LE((3 << 8) | 45, 12);
      zip64End.writeUInt16LE(45, 14);
      zip64End.writeUInt32LE(0, 16);
      zip64End.writeUInt32LE(0, 20);
      zip64End.writeBigUInt64LE(BigInt(entries.length), 24);
      zip64End.writeBigUInt64LE(BigInt(entries.length), 32);
      zip64End.writeBigUInt64LE(BigInt(directorySize), 40);
      zip64End.writeBigUInt64LE(BigInt(directoryOffset), 48);
      write(zip64End);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeUInt32LE(0, 4);
      locator.writeBigUInt64LE(BigInt(zip64EndOffset), 8);
      locator.writeUInt32LE(1, 16);
      write(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0, 4);
    end.writeUInt16LE(0, 6);
    end.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
    end.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
    end.writeUInt32LE(Math.min(directorySize, limit), 12);
    end.writeUInt32LE(Math.min(directoryOffset, limit), 16);
    end.writeUInt16LE(0, 20);
    write(end);
  } finally {
    closeSync(fd);
  }
  return { entries: entries.length };
}

/** Beside app/ and the zip: the build replaces only what it made itself. */
export const BUILD_MARKER = '.pkcs-broker-build';

function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return (
    relative === '' ||
    (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}

/**
 * The build deletes <out>/app and <out>/pkcs-broker.zip before writing them: refuse an output folder where that
 * could reach the sources, or where either exists without the marker of an earlier build.
 */
function guardOutput(repoRoot: string, outDir: string, appDir: string, zipFile: string): void {
  if (isWithin(repoRoot, appDir)) {
    throw new BuildError(`refusing to build into ${outDir}: ${appDir} would contain the repository`);
  }
  for (const sourceDir of [
    'functions',
    'shared',
    'node_modules',
    'dist',
    'dev',
    'test',
    'infra',
    'cli',
    '.git',
  ]) {
    if (isWithin(outDir, path.join(repoRoot, sourceDir))) {
      throw new BuildError(`refusing to build into ${outDir}: it is inside ${sourceDir}/`);
    }
  }
  if ((existsSync(appDir) || existsSync(zipFile)) && !existsSync(path.join(outDir, BUILD_MARKER))) {
    throw new BuildError(
      `refusing to build into ${outDir}: ${APP_DIR_NAME}/ or ${ZIP_NAME} is there but was not made by npm run build ` +
        `(no ${BUILD_MARKER} beside it); remove it or choose another --out`,
    );
  }
}

export function buildPackage(options: BuildOptions): BuildResult {
  const log = options.log ?? (() => undefined);
  const repoRoot = path.resolve(options.repoRoot);
  const outDir = path.resolve(options.outDir);
  const appDir = path.join(outDir, APP_DIR_NAME);
  const zipFile = path.join(outDir, ZIP_NAME);
  guardOutput(repoRoot, outDir, appDir, zipFile);
  const rootManifest = readJson<PackageManifest>(path.join(repoRoot, 'package.json'));
  const rootLock = readJson<Lockfile>(path.join(repoRoot, 'package-lock.json'));

  rmSync(appDir, { recursive: true, force: true });
  rmSync(zipFile, { force: true });
  mkdirSync(appDir, { recursive: true });
  writeFileSync(
    path.join(outDir, BUILD_MARKER),
    `made by npm run build: ${APP_DIR_NAME}/ and ${ZIP_NAME} here are replaced on every build\n`,
  );

  log('compiling functions/ and shared/ …');
  const compiled = compileProduction(repoRoot, path.join(appDir, 'dist'));
  cpSync(path.join(repoRoot, 'host.json'), path.join(appDir, 'host.json'));
  const manifest = productionManifest(rootManifest);
  writeFileSync(path.join(appDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const lock = productionLockfile(rootLock, manifest);
  writeFileSync(path.join(appDir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  log(`copying ${Object.keys(lock.packages).length - 1} production packages …`);
  const packages = copyProductionPackages(repoRoot, appDir, lock);

  const result: BuildResult = { appDir, compiledFiles: compiled.length, packages };
  const mode = options.zip ?? 'auto';
  if (mode !== 'none') {
    log(`writing ${zipFile} …`);
    if (mode === 'auto' && hasZipCommand()) {
      execFileSync('zip', ['-q', '-r', '-X', zipFile, '.'], { cwd: appDir, stdio: 'inherit' });
      result.zipTool = 'zip';
    } else {
      writeZip(appDir, zipFile);
      result.zipTool = 'node';
    }
    result.zipFile = zipFile;
  }
  return result;
}

export interface BuildArguments {
  outDir: string;
  zip: ZipMode;
}

export const BUILD_USAGE = `Usage: npm run build -- [--out <dir>] [--zip auto|node|none]

  --out   folder that receives app/ and ${ZIP_NAME} (default: BUILD_OUT_DIR, else build/ in the repository)
  --zip   auto: the zip command if installed, else the built-in writer (default); node: the built-in writer; none: no zip`;

export function parseBuildArguments(
  argv: string[],
  env: Record<string, string | undefined>,
  repoRoot: string,
): BuildArguments {
  const args: BuildArguments = { outDir: env.BUILD_OUT_DIR || path.join(repoRoot, 'build'), zip: 'auto' };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = argv[index + 1];
    if (flag === '--out' && value !== undefined) {
      args.outDir = path.resolve(value);
      index++;
    } else if (flag === '--zip' && (value === 'auto' || value === 'node' || value === 'none')) {
      args.zip = value;
      index++;
    } else {
      throw new BuildError(`unknown or incomplete argument "${flag}"\n\n${BUILD_USAGE}`);
    }
  }
  return args;
}

function megabytes(file: string): string {
  return `${(statSync(file).size / 1024 / 1024).toFixed(1)} MB`;
}

if (require.main === module) {
  try {
    const repoRoot = findRepoRoot(__dirname);
    const args = parseBuildArguments(process.argv.slice(2), process.env, repoRoot);
    const result = buildPackage({ repoRoot, ...args, log: (line) => console.log(line) });
    console.log(
      `\napp:  ${result.appDir} (${result.compiledFiles} compiled files, ${result.packages} production packages)`,
    );
    if (result.zipFile)
      console.log(`zip:  ${result.zipFile} (${megabytes(result.zipFile)}, ${result.zipTool})`);
    console.log(
      `\npublish: az functionapp deployment source config-zip -g <resource-group> -n <function-app> --src ${result.zipFile ?? '<zip>'}` +
        `\n     or: cd ${result.appDir} && func azure functionapp publish <function-app>`,
    );
  } catch (error) {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

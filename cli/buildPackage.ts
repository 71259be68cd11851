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
/* eslint-disable security/detect-non-literal-fs-filename -- an operator's command: the repository and the --out folder the operator names */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildError, readJson } from './build/buildError';
import {
  copyProductionPackages,
  productionLockfile,
  productionManifest,
  type Lockfile,
  type PackageManifest,
} from './build/productionDependencies';
import { writeZip } from './build/zipWriter';

export const ZIP_NAME = 'pkcs-broker.zip';
export const APP_DIR_NAME = 'app';

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

export function findRepoRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'host.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new BuildError(`no repository (package.json beside host.json) above ${start}`);
    dir = parent;
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

function hasZipCommand(): boolean {
  return spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
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

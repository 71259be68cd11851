/**
 * The production dependencies of the app: its package.json and package-lock.json reduced to what
 * `npm ci --omit=dev` would install, and those packages copied from the installed tree.
 */
/* eslint-disable security/detect-non-literal-fs-filename -- an operator's command: paths under the repository and its node_modules, from its own lockfile */
import { cpSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { BuildError, readJson } from './buildError';

export const FUNCTIONS_MAIN = 'dist/functions/*.js';

export interface PackageManifest {
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

export interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
  extraneous?: boolean;
  [field: string]: unknown;
}

export interface Lockfile {
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
export function copyProductionPackages(repoRoot: string, appDir: string, lock: Lockfile): number {
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

import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root, found from this file whether it runs as TypeScript (ts-jest) or compiled in dist/. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'host.json')) || !existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Local, git-ignored state of the dev stack: generated PKI, the stack description for `npm run submit`. */
export function localDir(...parts: string[]): string {
  return path.join(repoRoot(), '.local', ...parts);
}

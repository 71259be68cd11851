/** The build's one error type, and reading the repository's JSON files with it. */
/* eslint-disable security/detect-non-literal-fs-filename -- an operator's command: the repository's own files, under the folder the operator builds */
import { readFileSync } from 'node:fs';

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

/** Reads a JSON file; a missing or unreadable file is a BuildError naming it. */
export function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new BuildError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

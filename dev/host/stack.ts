/** What `npm start` tells `npm run submit` about the running local stack (.local/stack.json). */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { localDir } from './paths';

export interface LocalStack {
  connectionString: string;
  requestQueue: string;
  resultQueue: string;
  /** `host:port` of the local PKI-WS simulator, as a request's certificateAuthority. */
  caHost: string;
  recipientCertificatePath: string;
  recipientKeyPath: string;
}

export function stackFile(): string {
  return localDir('stack.json');
}

export function writeStack(stack: LocalStack): void {
  writeFileSync(stackFile(), JSON.stringify(stack, null, 2) + '\n', { mode: 0o600 });
}

export function readStack(): LocalStack | undefined {
  const file = stackFile();
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalStack) : undefined;
}

/** The stack is gone: a later `npm run submit` must not try to reach it. */
export function removeStack(): void {
  rmSync(stackFile(), { force: true });
}

/** The hand-written PKI-WS answers in test/fixtures/digicert/ (SOAP envelopes as the CA sends them). */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const DIGICERT_FIXTURES_DIR = path.join(__dirname, '..', 'fixtures', 'digicert');

/** The fixture file `name` as text. */
export function digicertFixture(name: string): string {
  return readFileSync(path.join(DIGICERT_FIXTURES_DIR, name), 'utf8');
}

/**
 * The one reading of a CA host (`certificateAuthority` of a message, an entry of CA_ALLOWED_HOSTS) and the
 * one allow-list rule. The settings, the contract's validation, the transport, the doctor and the revocation
 * pipeline all ask here, so what the broker validates is what it connects to. Pure: no I/O.
 *
 * A CA host is a bare host name (or IP literal, IPv6 in brackets) with an optional `:port`; no scheme, path,
 * trailing slash or trailing dot, and no IDN (write an internationalized name in its xn-- form). Case does not
 * matter, and port 443 is the https default: `host` and `host:443` are the same endpoint.
 */

/** What CA_ALLOWED_HOSTS holds when it is not set: DigiCert's PKI-WS host. */
export const DEFAULT_CA_HOST = 'pki-ws.symauth.com';

const DEFAULT_CA_PORT = 443;
// eslint-disable-next-line security/detect-unsafe-regex -- linear (one starred class, anchored); 50,000-character adversarial hosts test in under 1 ms
const HOST_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

export interface CaEndpoint {
  /** Lower case; an IPv6 literal keeps its brackets. */
  hostname: string;
  port: number;
  /** host, or host:port when the port is not 443: what goes into the URL. */
  authority: string;
}

/** The endpoint `value` names (surrounding spaces ignored), or undefined when it is not a host or host:port. */
export function parseCaHost(value: string): CaEndpoint | undefined {
  const match = HOST_PATTERN.exec(value.trim());
  if (match === null) return undefined;
  const hostname = (match[1] ?? '').toLowerCase();
  const port = match[2] === undefined ? DEFAULT_CA_PORT : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { hostname, port, authority: port === DEFAULT_CA_PORT ? hostname : `${hostname}:${port}` };
}

/** The entries of a comma-separated CA_ALLOWED_HOSTS value: trimmed, lower case, empty ones dropped. */
export function splitCaHostList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
}

/** Whether `a` and `b` name the same endpoint; false when either is not a host or host:port. */
export function isSameCaHost(a: string, b: string): boolean {
  const left = parseCaHost(a);
  const right = parseCaHost(b);
  return left !== undefined && right !== undefined && left.authority === right.authority;
}

/**
 * Whether `caHost` is listed in CA_ALLOWED_HOSTS. An entry without a port allows that host on 443 only; an
 * entry with a port allows exactly that port. Entries that are not a host or host:port allow nothing.
 */
export function isCaHostAllowed(caHost: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((entry) => isSameCaHost(caHost, entry));
}

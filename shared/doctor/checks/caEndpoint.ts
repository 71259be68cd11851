/** The CA host a check is about, as the broker's transport resolves it from CA_ALLOWED_HOSTS. */
import { resolveCaHost, type CaEndpoint } from '../../digicert/transport';
import type { DoctorContext } from '../types';

export function endpointOf(context: DoctorContext, host: string): CaEndpoint {
  const settings = context.settings;
  if (settings === undefined) throw new Error('the settings were not read');
  return resolveCaHost(host, settings.caAllowedHosts);
}

/** The host name without IPv6 brackets, as DNS and sockets take it. */
export function bareHostname(endpoint: CaEndpoint): string {
  return endpoint.hostname.replace(/^\[(.*)\]$/, '$1');
}

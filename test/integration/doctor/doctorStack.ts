/**
 * The local stack the doctor tests run against: the dev PKI (in a temporary folder), the PKI-WS simulator
 * (mutual TLS), optionally Azurite (queues, ledger table) and the Key Vault stand-in holding the dev RA PFX.
 * Trust in the stack's TLS servers is passed in-process (`trust`), since NODE_EXTRA_CA_CERTS cannot be set
 * inside jest's process.
 */
import { createServer } from 'node:net';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import type { KeyVaultStandIn } from '../../../dev/keyvault-standin/server';
import type { DevPki } from '../../../dev/pki/devPki';
import type { Simulator } from '../../../dev/simulator/server';
import { startDevSimulator } from '../../support/devSimulator';
import { putDevRaCertificate, startKeyVaultStandInWithDevTls } from '../../support/identityStack';

export const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
export const DEVICE_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.52840011';
export const DEFAULT_CN_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61904612';
export const CUSTOM_FIELDS_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010005';
export const SID_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196110';
export const UNKNOWN_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.99999999';
export const RA_CERTIFICATE_NAME = 'digicert-ra';

type Env = Record<string, string | undefined>;

export interface DoctorStack {
  dir: string;
  pki: DevPki;
  simulator: Simulator;
  azurite?: RunningAzurite;
  vault?: KeyVaultStandIn;
  /** The dev TLS root: signs the simulator's and the Key Vault stand-in's server certificates. */
  trust: string[];
  /** A healthy configuration (RA certificate from the PFX file), with overrides; `undefined` removes one. */
  env(overrides?: Env): Env;
  close(): Promise<void>;
}

export async function startDoctorStack(
  options: { azurite?: boolean; keyVault?: boolean } = {},
): Promise<DoctorStack> {
  const devSimulator = await startDevSimulator('doctor-');
  const { dir, pki, simulator } = devSimulator;
  const azurite = options.azurite ? await startAzurite() : undefined;
  let vault: KeyVaultStandIn | undefined;
  if (options.keyVault) {
    vault = await startKeyVaultStandInWithDevTls(pki);
    putDevRaCertificate(vault, pki, RA_CERTIFICATE_NAME);
  }
  const base: Env = {
    ...(azurite === undefined ? {} : { AzureWebJobsStorage: azurite.connectionString }),
    PKCS_REQUEST_QUEUE: 'doctor-requests',
    PKCS_RESULT_QUEUE: 'doctor-results',
    LEDGER_TABLE: 'doctorledger',
    RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
    RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
    RA_CERT_THUMBPRINT: pki.ra.thumbprint,
    CA_ALLOWED_HOSTS: simulator.authority,
    PROFILE_OIDS: `${USER_PROFILE},${DEVICE_PROFILE}`,
    CA_CONNECT_TIMEOUT_MS: '3000',
    CA_REQUEST_TIMEOUT_MS: '5000',
  };
  return {
    dir,
    pki,
    simulator,
    ...(azurite === undefined ? {} : { azurite }),
    ...(vault === undefined ? {} : { vault }),
    trust: [pki.tlsRootCa.certPem],
    env: (overrides: Env = {}) => {
      const merged: Env = { ...base, ...overrides };
      for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
      return merged;
    },
    close: async () => {
      await vault?.close();
      await azurite?.stop();
      await devSimulator.close();
    },
  };
}

/** A port on 127.0.0.1 where nothing listens (taken from the OS, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

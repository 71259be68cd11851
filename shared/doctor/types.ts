/**
 * The doctor: checks that run in order against the broker's real configuration (settings, Key Vault, the RA
 * certificate, each allowed CA host, the profiles, the queues and the ledger table) and say, for each
 * failure, which row of the seed's troubleshooting table it matches and what to change.
 */
import type { TokenCredential } from '@azure/identity';
import type { BrokerSettings } from '../config/settings';
import type { ErrorCode } from '../contract/errors';
import type { PkiWsClient } from '../digicert/client';
import type { RaCredential } from '../ra-credential/types';
import type { TroubleshootingRowId } from './troubleshooting';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface CheckOutcome {
  status: CheckStatus;
  /** One line: what was found. */
  detail: string;
  /** Further lines (the variables of a profile, each queue, …). */
  notes?: string[];
  /** The seed's troubleshooting row this failure (or warning) matches: `Dutch title (English gist)`. */
  troubleshootingRow?: string;
  troubleshootingRowId?: TroubleshootingRowId;
  /** What to change. */
  remedy?: string;
  /** The contract error code the broker would report for the same problem. */
  errorCode?: ErrorCode;
  /** Machine-readable facts for --json (never a secret). */
  data?: { [key: string]: JsonValue };
}

export interface DoctorCheck {
  id: string;
  title: string;
  /** Checks whose failure makes this one pointless: it is skipped, naming the first that failed. */
  needs?: string[];
  run(context: DoctorContext): Promise<CheckOutcome>;
}

export type DoctorMode = 'quick' | 'full';

export interface DoctorOptions {
  /** The settings as the Function App sees them (process.env in Azure). */
  env: Record<string, string | undefined>;
  /**
   * `full` (default): every check. `quick` (the health function's probe): settings, Key Vault, the RA
   * certificate and the CA health operation of each allowed host.
   */
  mode?: DoctorMode;
  now?: () => Date;
  /** RA certificate days to expiry under which the doctor warns (default 30). */
  expiryWarningDays?: number;
  /**
   * TEST ONLY: CA certificates (PEM) trusted besides Node's roots, for the CA hosts and Key Vault. Production
   * and the dev host get extra trust from NODE_EXTRA_CA_CERTS, which Node reads at start-up only, so tests
   * inside jest's process have no other way to trust the local stack. Never set from settings.
   */
  trustedCaPemForTests?: string[];
  /** The Key Vault credential; default `new DefaultAzureCredential()` (the Function App's managed identity). */
  keyVaultCredential?: TokenCredential;
  /** The storage credential for identity-based AzureWebJobsStorage; default as the settings name it. */
  storageCredential?: TokenCredential;
}

/** What the checks share while the doctor runs; each check fills in what later ones need. */
export interface DoctorContext {
  readonly env: Record<string, string | undefined>;
  readonly options: DoctorOptions;
  now(): Date;
  settings?: BrokerSettings;
  raCredential?: RaCredential;
  /** One PKI-WS client for the run (one attempt per call: the doctor reports, it does not wait out faults). */
  caClient(): PkiWsClient;
}

export interface CheckReport extends CheckOutcome {
  id: string;
  title: string;
  durationMs: number;
}

export interface DoctorReport {
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  mode: DoctorMode;
  startedAt: string;
  durationMs: number;
  summary: Record<CheckStatus, number>;
  checks: CheckReport[];
}

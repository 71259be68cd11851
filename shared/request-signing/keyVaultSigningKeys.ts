/**
 * The request-signing keys, read from a Key Vault secret (REQUEST_SIGNING_SECRET_NAME in KEY_VAULT_URL) with
 * the Function App's managed identity. Each version of the secret is a key, its version id the signature's
 * keyId: rotating is adding a version (senders move to it when they read the current one), retiring is
 * disabling the old version. A key read is kept for a few minutes, so a new or disabled version takes effect
 * that soon without a Key Vault call per message.
 */
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { BrokerError } from '../contract/errors';
import { MIN_SIGNING_KEY_BYTES, type SigningKey } from '../guardrails/requestSignature';
import {
  isTransientKeyVaultError,
  keyVaultErrorSummary,
  type KeyVaultErrorSummary,
} from '../ra-credential/keyVaultFailure';
import {
  keyVaultClientOptions,
  observeKeyVaultCall,
  type KeyVaultCallReport,
} from '../ra-credential/keyVaultSource';

/** Where a message's signing key comes from: the version a signature names, or the current one. */
export interface SigningKeySource {
  /** The secret's name, for the words of a refusal. */
  readonly secretName: string;
  /** @throws BrokerError REQUEST_NOT_ALLOWED (retryable when Key Vault could not answer now). */
  key(keyId: string | undefined): Promise<SigningKey>;
}

export interface KeyVaultSigningKeysOptions {
  vaultUrl: string;
  secretName: string;
  /** Defaults to `new DefaultAzureCredential()` (the managed identity in Azure). */
  credential?: TokenCredential;
  /** How long a key read is used before it is read again. Default 5 minutes. */
  cacheMs?: number;
  now?: () => number;
  /** TEST ONLY: see KeyVaultRaCredentialSourceOptions.trustedCaPemForTests. */
  trustedCaPemForTests?: string;
  /** SDK retries per read (SDK default 3). */
  maxRetries?: number;
  /** Told after every Key Vault read, for telemetry (a dependency, as for the RA credential). */
  onCall?: (call: KeyVaultCallReport) => void;
}

const CURRENT = 'current';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export class KeyVaultSigningKeys implements SigningKeySource {
  readonly secretName: string;
  private readonly secrets: SecretClient;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly vaultUrl: string;
  private readonly onCall?: (call: KeyVaultCallReport) => void;
  private readonly kept = new Map<string, { read: Promise<SigningKey>; at: number }>();

  constructor(options: KeyVaultSigningKeysOptions) {
    this.secretName = options.secretName;
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.vaultUrl = options.vaultUrl;
    this.onCall = options.onCall;
    const credential = options.credential ?? new DefaultAzureCredential();
    this.secrets = new SecretClient(
      options.vaultUrl,
      credential,
      keyVaultClientOptions(options.vaultUrl, options),
    );
  }

  key(keyId: string | undefined): Promise<SigningKey> {
    // Key Vault versions are lower-case hex; a sender may have written them in upper case.
    const slot = keyId?.toLowerCase() ?? CURRENT;
    const kept = this.kept.get(slot);
    if (kept !== undefined && this.now() - kept.at < this.cacheMs) return kept.read;
    const read = this.read(keyId?.toLowerCase());
    this.kept.set(slot, { read, at: this.now() });
    // A failed read is not kept: the next message asks Key Vault again.
    read.catch(() => this.kept.get(slot)?.read === read && this.kept.delete(slot));
    return read;
  }

  private async read(version: string | undefined): Promise<SigningKey> {
    let value: string | undefined;
    let readVersion: string | undefined;
    try {
      const secret = await observeKeyVaultCall(this.onCall, this.vaultUrl, 'getSecret', () =>
        this.secrets.getSecret(this.secretName, version === undefined ? {} : { version }),
      );
      if (secret.properties.enabled === false) throw disabledVersion(this.secretName, version);
      value = secret.value;
      readVersion = secret.properties.version;
    } catch (error) {
      if (error instanceof BrokerError) throw error;
      throw signingKeyFailure(keyVaultErrorSummary(error), this.secretName, version);
    }
    const key = decodeKey(value);
    if (key === undefined || readVersion === undefined) {
      throw new BrokerError(
        'REQUEST_NOT_ALLOWED',
        `signatures cannot be checked: version ${readVersion ?? '?'} of Key Vault secret "${this.secretName}" (REQUEST_SIGNING_SECRET_NAME) is not the base64 of a key of at least ${MIN_SIGNING_KEY_BYTES} bytes.`,
        {
          remedy: `Store a new key as a new version of the secret: az keyvault secret set --vault-name <vault> --name ${this.secretName} --value "$(openssl rand -base64 32)", and give it to the upstream system.`,
        },
      );
    }
    return { keyId: readVersion, key };
  }
}

function decodeKey(value: string | undefined): Buffer | undefined {
  const text = value?.trim() ?? '';
  if (!BASE64.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  return key.length >= MIN_SIGNING_KEY_BYTES ? key : undefined;
}

function disabledVersion(secretName: string, version: string | undefined): BrokerError {
  return new BrokerError(
    'REQUEST_NOT_ALLOWED',
    version === undefined
      ? `signatures cannot be checked: the current version of Key Vault secret "${secretName}" (REQUEST_SIGNING_SECRET_NAME) is disabled.`
      : `signature.keyId ${version} names a disabled version of Key Vault secret "${secretName}": that key was retired.`,
    {
      remedy:
        version === undefined
          ? `Enable the current version of "${secretName}" in the vault, or add a new enabled version.`
          : `Sign with the current version of "${secretName}" (read it again from Key Vault).`,
    },
  );
}

/** A failed read of the signing secret: the sender's fault (unknown keyId), the operator's, or a passing one. */
function signingKeyFailure(
  summary: KeyVaultErrorSummary,
  secretName: string,
  version: string | undefined,
): BrokerError {
  const said = `${[summary.status, summary.code].filter((part) => part !== undefined).join(' ') || summary.name}: ${summary.message}`;
  if (isTransientKeyVaultError(summary)) {
    return new BrokerError(
      'REQUEST_NOT_ALLOWED',
      `the signature cannot be checked now: Key Vault did not answer the read of secret "${secretName}" (${said}).`,
      {
        retryable: true,
        remedy:
          "Transient: the message waits in the queue and is checked again. If it persists, check the vault's health and the network path from the Function App to it.",
      },
    );
  }
  if (summary.status === 404 && version !== undefined) {
    return new BrokerError(
      'REQUEST_NOT_ALLOWED',
      `signature.keyId ${version} is not a version of Key Vault secret "${secretName}".`,
      { remedy: `Sign with the current version of "${secretName}" and name it in signature.keyId.` },
    );
  }
  if (summary.status === 403 && /disabled/i.test(summary.message)) {
    return disabledVersion(secretName, version);
  }
  if (summary.status === 404) {
    return new BrokerError(
      'REQUEST_NOT_ALLOWED',
      `signatures cannot be checked: the vault has no secret "${secretName}" (REQUEST_SIGNING_SECRET_NAME).`,
      {
        remedy: `Create it: az keyvault secret set --vault-name <vault> --name ${secretName} --value "$(openssl rand -base64 32)", and give the key to the upstream system; or set REQUEST_SIGNING_SECRET_NAME to the secret's name.`,
      },
    );
  }
  return new BrokerError(
    'REQUEST_NOT_ALLOWED',
    `signatures cannot be checked: reading Key Vault secret "${secretName}" failed (${said}).`,
    {
      remedy:
        'Grant the broker\'s managed identity "Key Vault Secrets User" (or "Key Vault Certificate User") on the vault, or with access policies Get on secrets; check KEY_VAULT_URL.',
    },
  );
}

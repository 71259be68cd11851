/**
 * The Key Vault stand-in's public shapes: how it is started, what it records, and the handle a test holds.
 * server.ts re-exports them, so importers keep using '…/keyvault-standin/server'.
 */

export type StandInCertificateInput =
  | {
      /** PKCS#12 as imported into Key Vault. */
      pfx: Buffer;
      /**
       * The import password. When given, the stand-in opens the PFX and serves it back without a password,
       * as Key Vault does; when absent the bytes are served as they are (they must then need no password).
       */
      password?: string;
      /** Key policy `exportable`; a non-exportable certificate's secret holds no private key. Default true. */
      exportable?: boolean;
      enabled?: boolean;
    }
  | {
      /** PEM with the private key (PKCS#8) and the certificate(s), served as `application/x-pem-file`. */
      pem: string;
      exportable?: boolean;
      enabled?: boolean;
    };

export interface StoredCertificateVersion {
  name: string;
  version: string;
  /** Upper-case hex SHA-1 of the certificate, as Windows shows it. */
  thumbprint: string;
  certificateId: string;
  secretId: string;
}

export type VaultObjectKind = 'secrets' | 'certificates';

export interface RecordedVaultRequest {
  method: string;
  kind: VaultObjectKind | 'other';
  name?: string;
  version?: string;
  apiVersion?: string;
  authorization: 'none' | 'issued' | 'unknown';
  status: number;
}

export interface RecordedTokenRequest {
  resource: string | null;
  apiVersion: string | null;
  /** A user-assigned identity's client_id / mi_res_id / object_id, when one was asked for. */
  userAssignedId?: string;
  identityHeaderValid: boolean;
  status: number;
}

export interface KeyVaultStandInOptions {
  /** Server certificate for 127.0.0.1 / localhost (see createStandInTls) and its key. */
  tls: { certPem: string; keyPem: string };
  /** Tenant named in the bearer challenge; the SDK passes it to getToken. */
  tenantId?: string;
  /** The secret the managed-identity endpoint expects in X-IDENTITY-HEADER; random when absent. */
  identityHeader?: string;
  /**
   * Client ids of user-assigned identities "assigned to the app"; a token request for any other client_id
   * gets App Service's 400 "Unable to load the proper Managed Identity." The system-assigned one always works.
   */
  userAssignedClientIds?: string[];
  /** Lifetime of the access tokens it issues. Default one day, like App Service. */
  tokenLifetimeSeconds?: number;
  now?: () => Date;
}

export interface KeyVaultStandIn {
  /** Vault URL, e.g. https://127.0.0.1:43117 (use as KEY_VAULT_URL). */
  url: string;
  port: number;
  tenantId: string;
  /** The App Service managed-identity endpoint (plain HTTP on loopback, as on App Service). */
  identityEndpoint: string;
  identityHeader: string;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER for a process whose DefaultAzureCredential should use this. */
  identityEnvironment: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /**
   * The resource an opaque token (Key Vault, Graph) was issued for, or undefined when this stand-in did not
   * issue it or it has expired: how other stand-ins check a bearer token's audience.
   */
  audienceOf(token: string): string | undefined;
  /** A TokenCredential-compatible object that takes tokens straight from the stand-in (no MSAL). */
  credential: {
    getToken(
      scopes?: string | string[],
    ): Promise<{ token: string; expiresOnTimestamp: number; tokenType: 'Bearer' }>;
  };
  /** Imports a certificate as a new version (the latest version is what name-only requests get). */
  putCertificate(name: string, input: StandInCertificateInput): StoredCertificateVersion;
  /** Sets a plain secret (such as a request-signing key) as a new version; returns its version id. */
  putSecret(
    name: string,
    value: string,
    options?: { enabled?: boolean; contentType?: string },
  ): { version: string };
  /** Enables or disables one version of a secret (a disabled version answers 403 SecretDisabled). */
  setSecretVersionEnabled(name: string, version: string, enabled: boolean): void;
  /** Removes every version of a certificate (its secret stays unless deleteSecret is called too). */
  deleteCertificate(name: string): void;
  /** Removes every version of the secret behind a certificate. */
  deleteSecret(name: string): void;
  /** Makes `GET /<kind>/<name>` answer 403 (as if the caller lacked that permission), or lifts it. */
  setForbidden(name: string, kinds: VaultObjectKind[]): void;
  readonly requests: readonly RecordedVaultRequest[];
  readonly tokenRequests: readonly RecordedTokenRequest[];
  close(): Promise<void>;
}

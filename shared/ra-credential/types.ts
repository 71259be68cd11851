/** The RA (registration authority) credential the broker authenticates to DigiCert with, over mutual TLS. */
export interface RaCredential {
  /** PEM of the RA certificate. */
  certificatePem: string;
  /** PEM of the RA private key (PKCS#8). Never logged, never written to disk. */
  privateKeyPem: string;
  /** PEM of any CA certificates that came with it (sent as extra `cert` entries, never used as trust). */
  chainPem: string[];
  /** Upper-case hex SHA-1 of the certificate DER, as Windows shows it. */
  thumbprint: string;
  notAfter: Date;
  subject: string;
  /**
   * Where it came from, for messages: `Key Vault certificate "ra" (version abc) in https://kv.vault.azure.net`
   * or `file /path/ra.pfx`.
   */
  source: string;
}

export interface RaCredentialSource {
  /** Loads and checks the RA credential; throws BrokerError RA_CERT_UNAVAILABLE naming what is wrong. */
  load(): Promise<RaCredential>;
  /** Forgets a kept credential so the next load() reads it again (after the CA refused it in the handshake). */
  invalidate?(): void;
}

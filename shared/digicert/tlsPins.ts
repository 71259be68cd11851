/**
 * Optional pinning of the CA's TLS certificate (CA_TLS_PINS): SHA-256 digests, base64, of SubjectPublicKeyInfos
 * as in HPKP (RFC 7469). The connection passes when the usual checks pass (chain to a trusted root, host name)
 * and some certificate of the server's chain (leaf, issuing CA or root) has a pinned key. Pinning the issuing
 * CA's key survives DigiCert renewing its server certificate; pinning the leaf does not.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { BrokerError } from '../contract/errors';

/** The pin of a certificate (DER): base64 SHA-256 of its SubjectPublicKeyInfo. */
export function spkiPin(certificateDer: Buffer): string {
  const spki = new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** The certificates the server presented, leaf first, up to the root Node completed the chain with. */
function chainOf(leaf: PeerCertificate): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | PeerCertificate | undefined = leaf;
  while (current?.raw !== undefined && !seen.has(current.fingerprint256) && chain.length < 10) {
    seen.add(current.fingerprint256);
    chain.push(current.raw);
    // A self-signed root is its own issuer; Object.keys() is empty when Node has no issuer for it.
    const issuer: DetailedPeerCertificate | undefined = (current as Partial<DetailedPeerCertificate>)
      .issuerCertificate;
    current = issuer !== undefined && Object.keys(issuer).length > 0 ? issuer : undefined;
  }
  return chain;
}

function pinMismatch(host: string, chainPins: string[]): BrokerError {
  return new BrokerError(
    'CA_TLS_FAILED',
    `DigiCert TLS connection to ${host} failed: no certificate of the server's chain has a key pinned in CA_TLS_PINS (the chain's keys: ${chainPins.join(', ')})`,
    {
      remedy:
        'If DigiCert changed its server or issuing CA certificate, add the new key (base64 SHA-256 of its SubjectPublicKeyInfo) to CA_TLS_PINS; otherwise something between the broker and DigiCert intercepts TLS. Clear CA_TLS_PINS to turn pinning off.',
    },
  );
}

/**
 * The `checkServerIdentity` connect option for CA_TLS_PINS: Node's host name check first, then the pins.
 * No pins: no option, so Node's own check alone applies.
 */
export function pinnedServerIdentity(pins: readonly string[] | undefined): {
  checkServerIdentity?: (host: string, certificate: PeerCertificate) => Error | undefined;
} {
  if (pins === undefined || pins.length === 0) return {};
  const pinned = new Set(pins);
  return {
    checkServerIdentity: (host, certificate) => {
      const nameError = checkServerIdentity(host, certificate);
      if (nameError !== undefined) return nameError;
      const chainPins = chainOf(certificate).map(spkiPin);
      return chainPins.some((pin) => pinned.has(pin)) ? undefined : pinMismatch(host, chainPins);
    },
  };
}

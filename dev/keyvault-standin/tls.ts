/** The stand-in's HTTPS certificate: a dev TLS root and a server certificate for 127.0.0.1 + localhost. */
import { createCertificate, type TestCertificate } from '../pki/certificates';

/** A dev TLS root and a server certificate for 127.0.0.1 + localhost signed by it. */
export function createStandInTls(root?: TestCertificate): {
  rootCertPem: string;
  certPem: string;
  keyPem: string;
} {
  const issuer =
    root ??
    createCertificate({ subject: [{ shortName: 'CN', value: 'Dev Key Vault TLS Root' }], isCa: true });
  const server = createCertificate({
    subject: [{ shortName: 'CN', value: 'localhost' }],
    issuer,
    days: 30,
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  return { rootCertPem: issuer.certPem, certPem: server.certPem, keyPem: server.keyPem! };
}

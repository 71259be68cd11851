/** The JSON bodies of certificate and secret versions, in the shape the Key Vault SDKs parse. */
import { createHash } from 'node:crypto';
import { seconds, type SecretVersionRecord, type VersionRecord } from './vaultStore';

function attributes(record: SecretVersionRecord) {
  return {
    enabled: record.enabled,
    ...(record.certificate === undefined
      ? {}
      : {
          nbf: seconds(new Date(record.certificate.validFrom)),
          exp: seconds(new Date(record.certificate.validTo)),
        }),
    created: record.createdSeconds,
    updated: record.createdSeconds,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  };
}

/** A certificate version as `GET /certificates/<name>[/<version>]` answers it. */
export function certificateBody(vaultUrl: string, record: VersionRecord) {
  const sha1 = createHash('sha1').update(record.certificate.raw).digest();
  return {
    id: `${vaultUrl}/certificates/${record.name}/${record.version}`,
    kid: `${vaultUrl}/keys/${record.name}/${record.version}`,
    sid: `${vaultUrl}/secrets/${record.name}/${record.version}`,
    x5t: sha1.toString('base64url'),
    cer: record.certificate.raw.toString('base64'),
    attributes: attributes(record),
    policy: {
      id: `${vaultUrl}/certificates/${record.name}/policy`,
      key_props: {
        exportable: record.exportable,
        kty: record.keyType,
        ...(record.keySize === undefined ? {} : { key_size: record.keySize }),
        reuse_key: false,
      },
      secret_props: { contentType: record.contentType },
      x509_props: {
        subject: record.certificate.subject.split('\n').reverse().join(', '),
        ekus: record.certificate.keyUsage ?? [],
        key_usage: ['digitalSignature', 'keyEncipherment'],
        validity_months: 12,
      },
      lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: 'EmailContacts' } }],
      issuer: { name: 'Unknown' },
      attributes: { enabled: true, created: record.createdSeconds, updated: record.createdSeconds },
    },
    tags: {},
  };
}

/** A secret version (plain, or the one behind a certificate), as `GET /secrets/<name>[/<version>]` answers it. */
export function secretBody(vaultUrl: string, record: SecretVersionRecord) {
  return {
    value: record.secretValue,
    ...(record.contentType === undefined ? {} : { contentType: record.contentType }),
    id: `${vaultUrl}/secrets/${record.name}/${record.version}`,
    ...(record.certificate === undefined
      ? {}
      : { managed: true, kid: `${vaultUrl}/keys/${record.name}/${record.version}` }),
    attributes: attributes(record),
    tags: {},
  };
}

/**
 * Key Vault access (when the RA certificate lives there) and the RA certificate itself: present, with its
 * private key, matching the thumbprint pin, client-authentication EKU, days to expiry.
 */
import { X509Certificate } from 'node:crypto';
import { DefaultAzureCredential } from '@azure/identity';
import { CertificateClient } from '@azure/keyvault-certificates';
import { SecretClient } from '@azure/keyvault-secrets';
import { BrokerError } from '../../contract/errors';
import { CLIENT_AUTH_EKU } from '../../ra-credential';
import { raCredentialFailure, type RaLocation } from '../../ra-credential/checks';
import { keyVaultFailure } from '../../ra-credential/keyVaultFailure';
import { keyVaultClientOptions } from '../../ra-credential/keyVaultSource';
import { daysBetween, failureOutcome, withRow } from '../outcomes';
import { createRaSource, doctorKeyVaultAccess, raOriginOf } from '../raSource';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types';
import { SETTINGS_CHECK_ID } from './settingsCheck';

export const KEY_VAULT_CHECK_ID = 'key-vault';
export const RA_CERTIFICATE_CHECK_ID = 'ra-certificate';

const DEFAULT_EXPIRY_WARNING_DAYS = 30;

function requireSettings(context: DoctorContext) {
  if (context.settings === undefined) throw new Error('the settings were not read');
  return context.settings;
}

async function checkKeyVault(context: DoctorContext): Promise<CheckOutcome> {
  const settings = requireSettings(context);
  const origin = raOriginOf(settings);
  if (origin.kind === 'file') {
    return {
      status: 'skip',
      detail: `not used: the RA certificate comes from RA_CERTIFICATE_PFX_FILE (${origin.path})`,
    };
  }
  if (origin.kind === 'unconfigured') {
    return { status: 'skip', detail: 'not configured (see the settings check)' };
  }
  try {
    // Validates KEY_VAULT_URL and RA_CERTIFICATE_NAME the way the broker does.
    createRaSource(settings, context.options);
  } catch (error) {
    return failureOutcome(error);
  }
  const vaultUrl = new URL(origin.vaultUrl).origin;
  let location: RaLocation = { kind: 'key-vault', vaultUrl, certificateName: origin.certificateName };
  const credential = context.options.keyVaultCredential ?? new DefaultAzureCredential();
  const clientOptions = keyVaultClientOptions(vaultUrl, doctorKeyVaultAccess(context.options));
  const certificates = new CertificateClient(vaultUrl, credential, clientOptions);
  const secrets = new SecretClient(vaultUrl, credential, clientOptions);

  let certificate;
  try {
    certificate = await certificates.getCertificate(origin.certificateName);
  } catch (error) {
    return failureOutcome(keyVaultFailure(error, 'certificate', location));
  }
  const version = certificate.properties.version;
  location = { ...location, version };
  const notes = [
    `certificate "${origin.certificateName}" version ${version ?? '(none)'}: ${certificate.properties.enabled === false ? 'disabled' : 'enabled'}, key ${certificate.policy?.exportable === false ? 'not exportable' : 'exportable'}`,
  ];
  if (certificate.properties.enabled === false) {
    return failureOutcome(
      raCredentialFailure(
        location,
        'disabled: the current version of the certificate is disabled in Key Vault.',
        `Enable that version of "${origin.certificateName}" in the vault, or import the RA certificate as a new, enabled version.`,
      ),
      { notes },
    );
  }
  if (certificate.policy?.exportable === false) {
    return failureOutcome(
      raCredentialFailure(
        location,
        'no private key: the key policy is not exportable, so Key Vault never hands out the private key the broker needs for mutual TLS.',
        `Re-import the RA certificate's PFX as a new version of "${origin.certificateName}" with an exportable key policy.`,
      ),
      { notes },
    );
  }
  let secret;
  try {
    secret = await secrets.getSecret(origin.certificateName, { version });
  } catch (error) {
    return failureOutcome(keyVaultFailure(error, 'secret', location), { notes });
  }
  // Only whether a value came; the value (the private key) is never looked at here nor reported.
  const hasValue = typeof secret.value === 'string' && secret.value.length > 0;
  const contentType = secret.properties.contentType ?? certificate.policy?.contentType ?? 'not set';
  notes.push(
    `secret "${origin.certificateName}" version ${version ?? '(none)'}: ${hasValue ? 'readable' : 'empty'}, content type ${contentType}`,
  );
  if (!hasValue) {
    return failureOutcome(
      raCredentialFailure(
        location,
        'no private key: the secret behind the certificate is empty.',
        `Re-import the RA certificate with its private key as a new version of "${origin.certificateName}".`,
      ),
      { notes },
    );
  }
  return {
    status: 'pass',
    detail: `the certificate "${origin.certificateName}" (version ${version ?? '(none)'}) and its secret can be read from ${vaultUrl}`,
    notes,
    data: { vaultUrl, certificateName: origin.certificateName, version: version ?? null, contentType },
  };
}

function issuerOf(certificate: X509Certificate): string {
  return certificate.issuer.split('\n').reverse().join(', ');
}

async function checkRaCertificate(context: DoctorContext): Promise<CheckOutcome> {
  const settings = requireSettings(context);
  let credential;
  try {
    credential = await createRaSource(settings, context.options).load();
  } catch (error) {
    return failureOutcome(error);
  }
  const certificate = new X509Certificate(credential.certificatePem);
  const now = context.now();
  const daysLeft = daysBetween(now, credential.notAfter);
  const warningDays = context.options.expiryWarningDays ?? DEFAULT_EXPIRY_WARNING_DAYS;
  const pinned = settings.raCertThumbprints.length > 0;
  const pin = pinned
    ? `matches RA_CERT_THUMBPRINT ${settings.raCertThumbprints.join(', ')}`
    : 'not pinned (RA_CERT_THUMBPRINT not set)';
  const notes = [
    `present: ${credential.subject}, issued by ${issuerOf(certificate)}, from ${credential.source}`,
    'private key: present, matches the certificate',
    `thumbprint: ${credential.thumbprint}, ${pin}`,
    `extended key usage: Client Authentication (${CLIENT_AUTH_EKU})`,
    `valid until ${credential.notAfter.toISOString()} (${daysLeft} days left)`,
    ...(credential.chainPem.length > 0
      ? [`${credential.chainPem.length} CA certificate(s) sent along as chain`]
      : []),
  ];
  context.raCredential = credential;
  const data = {
    subject: credential.subject,
    issuer: issuerOf(certificate),
    thumbprint: credential.thumbprint,
    pinned,
    notAfter: credential.notAfter.toISOString(),
    daysToExpiry: daysLeft,
    source: credential.source,
  };
  const summary = `${credential.subject} (${credential.thumbprint}), private key, ${pinned ? 'pin matches' : 'no pin'}, client-auth EKU, ${daysLeft} days to expiry`;
  if (daysLeft < warningDays) {
    const expiring = new BrokerError(
      'RA_CERT_UNAVAILABLE',
      `RA certificate ${credential.thumbprint} (${credential.subject}) expires in ${daysLeft} days, on ${credential.notAfter.toISOString()}.`,
    );
    return withRow(
      {
        status: 'warn',
        detail: expiring.message,
        notes,
        remedy: `Renew the RA certificate at DigiCert now ("Get an RA Cert", from a CSR with the client-authentication EKU and an exportable key), import it with its private key ${credential.source.startsWith('file') ? 'as the RA_CERTIFICATE_PFX_FILE' : 'as a new version of the Key Vault certificate'}, and update RA_CERT_THUMBPRINT if you pin it. After expiry every request fails with RA_CERT_UNAVAILABLE.`,
        errorCode: expiring.code,
        data,
      },
      { id: 'client-certificate' },
    );
  }
  return { status: 'pass', detail: summary, notes, data };
}

export const keyVaultCheck: DoctorCheck = {
  id: KEY_VAULT_CHECK_ID,
  title: 'Key Vault access',
  needs: [SETTINGS_CHECK_ID],
  run: checkKeyVault,
};

export const raCertificateCheck: DoctorCheck = {
  id: RA_CERTIFICATE_CHECK_ID,
  title: 'RA certificate',
  needs: [SETTINGS_CHECK_ID, KEY_VAULT_CHECK_ID],
  run: checkRaCertificate,
};

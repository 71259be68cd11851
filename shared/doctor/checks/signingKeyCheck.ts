/**
 * The request-signing key (REQUEST_SIGNING_SECRET_NAME): readable from Key Vault and long enough, read exactly
 * as the broker reads it. Planned only when the setting is there; the key itself is never reported.
 */
import { KeyVaultSigningKeys } from '../../request-signing/keyVaultSigningKeys';
import { failureOutcome } from '../outcomes';
import { doctorKeyVaultAccess } from '../raSource';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types';
import { SETTINGS_CHECK_ID } from './settingsCheck';

export const SIGNING_KEY_CHECK_ID = 'request-signing-key';

async function checkSigningKey(context: DoctorContext): Promise<CheckOutcome> {
  const settings = context.settings;
  if (settings === undefined) throw new Error('the settings were not read');
  const secretName = settings.requestSigningSecretName;
  if (secretName === undefined || settings.keyVaultUrl === undefined) {
    return { status: 'skip', detail: 'not configured: unsigned requests are accepted' };
  }
  const vaultUrl = new URL(settings.keyVaultUrl).origin;
  const keys = new KeyVaultSigningKeys({
    vaultUrl,
    secretName,
    ...doctorKeyVaultAccess(context.options),
  });
  try {
    const { keyId, key } = await keys.key(undefined);
    return {
      status: 'pass',
      detail: `secret "${secretName}" in ${vaultUrl}: current version ${keyId}, a key of ${key.length} bytes; requests and revocations must be signed with it`,
      data: { vaultUrl, secretName, version: keyId },
    };
  } catch (error) {
    return failureOutcome(error);
  }
}

export const signingKeyCheck: DoctorCheck = {
  id: SIGNING_KEY_CHECK_ID,
  title: 'Request-signing key in Key Vault',
  needs: [SETTINGS_CHECK_ID],
  run: checkSigningKey,
};

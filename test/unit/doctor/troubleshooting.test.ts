import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BrokerError } from '../../../shared/contract/errors';
import { classifyTransportError } from '../../../shared/digicert/faults/network';
import {
  formatTroubleshootingRow,
  troubleshootingRowFor,
  TROUBLESHOOTING_ROWS,
} from '../../../shared/doctor/troubleshooting';
import { raCredentialFailure } from '../../../shared/ra-credential/checks';
import { keyVaultFailure } from '../../../shared/ra-credential/keyVaultFailure';
import { describeWithTeamShared, teamSharedPath } from '../../support/teamShared';

const fileLocation = { kind: 'file' as const, path: '/run/ra.pfx' };
const vaultLocation = {
  kind: 'key-vault' as const,
  vaultUrl: 'https://contoso-broker.vault.azure.net',
  certificateName: 'digicert-ra',
};
const context = { operation: 'getPolicies', caHost: 'pki-ws.symauth.com', service: 'policyService' as const };
const transport = { attemptTimedOut: false, requestTimeoutMs: 30000, connectTimeoutMs: 10000 };

function codedError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('naming a troubleshooting row', () => {
  it('writes the Dutch title with the English gist, and the case where the row has several', () => {
    expect(formatTroubleshootingRow({ id: 'client-certificate' })).toBe(
      'DigiCert-provider: Kan clientcertificaat niet ophalen (cannot get the client certificate)',
    );
    expect(formatTroubleshootingRow({ id: 'secure-channel', case: 2 })).toBe(
      "DigiCert-provider: Ophalen van DigiCert-beleid is mislukt. 'De aanvraag is afgebroken: Kan geen beveiligd SSL/TLS-kanaal maken.' (getting the DigiCert policy failed: could not create a secure SSL/TLS channel; case 2: the CA FQDN is not the right one for the subscription)",
    );
    expect(formatTroubleshootingRow({ id: 'request-element-not-understood' })).toMatch(
      /^DigiCert-provider: Ophalen van DigiCert-beleid is mislukt\. 'Een aanvraagelement is niet begrepen\.' \(/,
    );
  });

  it.each([
    [
      'missing file',
      raCredentialFailure(fileLocation, 'missing: the file does not exist.', 'x'),
      'client-certificate',
      undefined,
    ],
    [
      'thumbprint pin',
      raCredentialFailure(fileLocation, 'thumbprint pin mismatch: …', 'x'),
      'client-certificate',
      undefined,
    ],
    [
      'expired',
      raCredentialFailure(fileLocation, 'expired: certificate … expired on …', 'x'),
      'client-certificate',
      undefined,
    ],
    [
      'no private key',
      raCredentialFailure(fileLocation, 'no private key: the RA certificate …', 'x'),
      'secure-channel',
      3,
    ],
    [
      'key not exportable',
      raCredentialFailure(vaultLocation, 'no private key: the key policy is not exportable …', 'x'),
      'secure-channel',
      3,
    ],
    [
      'Key Vault 404',
      keyVaultFailure(
        Object.assign(new Error('not found'), { statusCode: 404, code: 'CertificateNotFound' }),
        'certificate',
        vaultLocation,
      ),
      'client-certificate',
      undefined,
    ],
    [
      'Key Vault 403',
      keyVaultFailure(
        Object.assign(new Error('denied'), { statusCode: 403, code: 'Forbidden' }),
        'secret',
        vaultLocation,
      ),
      'secure-channel',
      1,
    ],
    [
      'untrusted CA server',
      classifyTransportError(codedError('SELF_SIGNED_CERT_IN_CHAIN'), context, transport),
      'secure-channel',
      2,
    ],
    [
      'wrong FQDN',
      classifyTransportError(codedError('ERR_TLS_CERT_ALTNAME_INVALID'), context, transport),
      'secure-channel',
      2,
    ],
    [
      'RA refused by the CA',
      classifyTransportError(codedError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), context, transport),
      'secure-channel',
      3,
    ],
    [
      'CA timeout',
      classifyTransportError(codedError('UND_ERR_CONNECT_TIMEOUT'), context, transport),
      'policy-timeout',
      undefined,
    ],
    [
      'unknown profile',
      new BrokerError('PROFILE_NOT_FOUND', 'unknown profile'),
      'request-element-not-understood',
      undefined,
    ],
    [
      'policy mismatch',
      new BrokerError('POLICY_MISMATCH', 'needs $user_id'),
      'policy-verification',
      undefined,
    ],
    [
      'underscore',
      new BrokerError('NAME_CHARACTERS_UNSUPPORTED', '_'),
      'some-devices-no-certificates',
      undefined,
    ],
  ])('%s → its row', (_name, error, id, scenario) => {
    expect(troubleshootingRowFor(error)).toEqual(scenario === undefined ? { id } : { id, case: scenario });
  });

  it.each([
    ['a CA that refuses in its own words', new BrokerError('CA_REJECTED', 'refused')],
    ['a CA down', new BrokerError('CA_UNAVAILABLE', 'DOWN')],
    ['a malformed request', new BrokerError('INVALID_REQUEST', 'bad')],
  ])('%s matches no row of the seed', (_name, error) => {
    expect(troubleshootingRowFor(error)).toBeUndefined();
  });
});

describeWithTeamShared('the rows as the seed writes them', () => {
  it('every Dutch title is, word for word, a problem of the seed’s troubleshooting table', () => {
    const seedDir = teamSharedPath('seed');
    const seed = readdirSync(seedDir)
      .filter((file) => file.endsWith('.txt'))
      .map((file) => readFileSync(path.join(seedDir, file), 'utf8'))
      .join('\n');
    const table = seed.slice(seed.indexOf('Probleemoplossing'));
    const problems = table
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .map((line) => (line.split('|')[1] ?? '').replace(/<br>/g, ' ').replace(/\s+/g, ' ').trim());
    for (const row of Object.values(TROUBLESHOOTING_ROWS)) {
      expect(problems.some((problem) => problem.startsWith(row.dutch))).toBe(true);
    }
  });
});

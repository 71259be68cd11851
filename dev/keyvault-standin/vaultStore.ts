/**
 * What the vault holds: the versions of each certificate and of the secret behind it (one import adds one
 * of each), and the object kinds a caller is forbidden to read. Names are case-insensitive, as in Key Vault.
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import type { StandInCertificateInput, VaultObjectKind } from './api';
import { importPem, importPfx } from './certificateImport';

const NAME_PATTERN = /^[0-9A-Za-z-]{1,127}$/;

/** A version of a secret: the one behind a certificate version, or a plain secret (no certificate). */
export interface SecretVersionRecord {
  name: string;
  version: string;
  enabled: boolean;
  createdSeconds: number;
  secretValue: string;
  contentType?: string;
  /** Set for the secret behind a certificate: Key Vault marks it managed and gives it the certificate's dates. */
  certificate?: X509Certificate;
}

export interface VersionRecord extends SecretVersionRecord {
  exportable: boolean;
  certificate: X509Certificate;
  keyType: 'RSA' | 'EC';
  keySize?: number;
  contentType: 'application/x-pkcs12' | 'application/x-pem-file';
}

interface NameRecord {
  certificateVersions: VersionRecord[];
  secretVersions: SecretVersionRecord[];
  forbidden: Set<VaultObjectKind>;
}

export function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function readCertificateName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new Error(`"${name}" is not a valid Key Vault object name`);
  return name;
}

export class VaultStore {
  private readonly names = new Map<string, NameRecord>();

  constructor(private readonly now: () => Date) {}

  private recordFor(name: string): NameRecord {
    const key = name.toLowerCase(); // Key Vault names are case-insensitive.
    let record = this.names.get(key);
    if (!record) {
      record = { certificateVersions: [], secretVersions: [], forbidden: new Set() };
      this.names.set(key, record);
    }
    return record;
  }

  /** Imports a certificate as a new version of the certificate and of its secret. */
  putCertificate(name: string, input: StandInCertificateInput): VersionRecord {
    readCertificateName(name);
    const exportable = input.exportable ?? true;
    const imported = 'pfx' in input ? importPfx(input, exportable) : importPem(input.pem, exportable);
    const record: VersionRecord = {
      name,
      version: randomBytes(16).toString('hex'),
      enabled: input.enabled ?? true,
      exportable,
      createdSeconds: seconds(this.now()),
      certificate: imported.certificate,
      keyType: imported.keyType,
      keySize: imported.keySize,
      secretValue: imported.secretValue,
      contentType: 'pfx' in input ? 'application/x-pkcs12' : 'application/x-pem-file',
    };
    const stored = this.recordFor(name);
    stored.certificateVersions.push(record);
    stored.secretVersions.push(record);
    return record;
  }

  /** Sets a plain secret as a new version (the latest version is what name-only requests get). */
  putSecret(
    name: string,
    value: string,
    options: { enabled?: boolean; contentType?: string },
  ): SecretVersionRecord {
    readCertificateName(name);
    const record: SecretVersionRecord = {
      name,
      version: randomBytes(16).toString('hex'),
      enabled: options.enabled ?? true,
      createdSeconds: seconds(this.now()),
      secretValue: value,
      ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
    };
    this.recordFor(name).secretVersions.push(record);
    return record;
  }

  /** Enables or disables one version of a secret (a disabled version answers 403, as in Key Vault). */
  setSecretVersionEnabled(name: string, version: string, enabled: boolean): void {
    const record = this.recordFor(name).secretVersions.find((candidate) => candidate.version === version);
    if (record === undefined) throw new Error(`the stand-in has no version ${version} of secret ${name}`);
    record.enabled = enabled;
  }

  deleteCertificate(name: string): void {
    this.recordFor(name).certificateVersions = [];
  }

  deleteSecret(name: string): void {
    this.recordFor(name).secretVersions = [];
  }

  setForbidden(name: string, kinds: VaultObjectKind[]): void {
    this.recordFor(name).forbidden = new Set(kinds);
  }

  isForbidden(kind: VaultObjectKind, name: string): boolean {
    return this.names.get(name.toLowerCase())?.forbidden.has(kind) ?? false;
  }

  /** The certificate version asked for, or the latest without one; undefined when there is none. */
  findCertificate(name: string, version: string | undefined): VersionRecord | undefined {
    return latestOrVersion(this.names.get(name.toLowerCase())?.certificateVersions, version);
  }

  /** The secret version asked for, or the latest without one; undefined when there is none. */
  findSecret(name: string, version: string | undefined): SecretVersionRecord | undefined {
    return latestOrVersion(this.names.get(name.toLowerCase())?.secretVersions, version);
  }
}

function latestOrVersion<T extends { version: string }>(
  versions: T[] | undefined,
  version: string | undefined,
): T | undefined {
  return version === undefined
    ? versions?.at(-1)
    : versions?.find((candidate) => candidate.version === version);
}

/**
 * What the vault holds: the versions of each certificate and of the secret behind it (one import adds one
 * of each), and the object kinds a caller is forbidden to read. Names are case-insensitive, as in Key Vault.
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import type { StandInCertificateInput, VaultObjectKind } from './api';
import { importPem, importPfx } from './certificateImport';

const NAME_PATTERN = /^[0-9A-Za-z-]{1,127}$/;

export interface VersionRecord {
  name: string;
  version: string;
  enabled: boolean;
  exportable: boolean;
  createdSeconds: number;
  certificate: X509Certificate;
  keyType: 'RSA' | 'EC';
  keySize?: number;
  secretValue: string;
  contentType: 'application/x-pkcs12' | 'application/x-pem-file';
}

interface NameRecord {
  certificateVersions: VersionRecord[];
  secretVersions: VersionRecord[];
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

  /** The version asked for, or the latest without one; undefined when there is none. */
  find(kind: VaultObjectKind, name: string, version: string | undefined): VersionRecord | undefined {
    const record = this.names.get(name.toLowerCase());
    const versions = kind === 'secrets' ? record?.secretVersions : record?.certificateVersions;
    return version === undefined
      ? versions?.at(-1)
      : versions?.find((candidate) => candidate.version === version);
  }
}

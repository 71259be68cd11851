/**
 * The RA credential from a PFX file (RA_CERTIFICATE_PFX_FILE + RA_CERTIFICATE_PFX_PASSWORD), for local runs
 * and hosts without Key Vault. A PEM file with key and certificate(s) is read too.
 */
import { readFile } from 'node:fs/promises';
import { buildRaCredential, raCredentialFailure, thumbprintPins, type RaLocation } from './checks';
import { looksLikePem, MaterialReadError, readPem, readPkcs12, type RaKeyMaterial } from './material';
import type { RaCredential, RaCredentialSource } from './types';

export interface FileRaCredentialSourceOptions {
  /** RA_CERTIFICATE_PFX_FILE */
  pfxFile: string;
  /** RA_CERTIFICATE_PFX_PASSWORD; absent or empty for a password-less PFX. */
  password?: string;
  /** RA_CERT_THUMBPRINT */
  /** RA_CERT_THUMBPRINT: one thumbprint or several (rotation). */
  thumbprintPin?: string | readonly string[];
  now?: () => Date;
}

function errnoCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

export class FileRaCredentialSource implements RaCredentialSource {
  private readonly location: RaLocation;
  private readonly thumbprintPin: string[];
  private readonly now: () => Date;

  constructor(private readonly options: FileRaCredentialSourceOptions) {
    this.location = { kind: 'file', path: options.pfxFile };
    this.thumbprintPin = thumbprintPins(options.thumbprintPin);
    this.now = options.now ?? (() => new Date());
  }

  async load(): Promise<RaCredential> {
    const material = await this.readMaterial();
    return buildRaCredential(material, {
      location: this.location,
      thumbprintPin: this.thumbprintPin,
      now: this.now(),
      missingKeyRemedy:
        'Export the RA certificate with its private key ("Yes, export the private key", PFX) and point RA_CERTIFICATE_PFX_FILE at that file.',
    });
  }

  private async readMaterial(): Promise<RaKeyMaterial> {
    let bytes: Buffer;
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- RA_CERTIFICATE_PFX_FILE, an operator's setting
      bytes = await readFile(this.options.pfxFile);
    } catch (error) {
      const code = errnoCode(error);
      const problem =
        code === 'ENOENT'
          ? 'missing: the file does not exist.'
          : code === 'EACCES' || code === 'EPERM'
            ? 'the file cannot be read (permission denied).'
            : code === 'EISDIR'
              ? 'the path is a directory, not a PFX file.'
              : `the file cannot be read (${code ?? 'unknown error'}).`;
      throw raCredentialFailure(
        this.location,
        problem,
        'Set RA_CERTIFICATE_PFX_FILE to the path of the RA certificate PFX (with its private key) and make sure the broker can read it.',
      );
    }
    const password = this.options.password;
    try {
      return looksLikePem(bytes) ? readPem(bytes.toString('utf8'), password) : readPkcs12(bytes, password);
    } catch (error) {
      if (!(error instanceof MaterialReadError)) throw error;
      if (error.problem === 'wrong-password') {
        throw raCredentialFailure(
          this.location,
          `wrong password: ${error.message} (RA_CERTIFICATE_PFX_PASSWORD is ${password ? 'set' : 'not set'}).`,
          'Set RA_CERTIFICATE_PFX_PASSWORD to the password the PFX was exported with (leave it unset for a PFX without password).',
        );
      }
      throw raCredentialFailure(
        this.location,
        error.problem === 'not-a-container' ? `not a PFX: ${error.message}.` : `${error.message}.`,
        'Point RA_CERTIFICATE_PFX_FILE at the RA certificate exported as PKCS#12 (.pfx/.p12) with its private key.',
      );
    }
  }
}

/**
 * The access tokens the stand-in hands out, and which of them it still honours. Vault and Graph tokens are
 * opaque (only the stand-ins check them, through audienceOf). Storage tokens are JWTs with the claims
 * Azurite's basic OAuth checks (issuer, audience, iat/nbf/exp); it does not check the signature, so HS256
 * with a key of this stand-in's own is enough (Entra ID signs RS256 with its published keys).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { seconds } from './vaultStore';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
/** Storage (queues, tables): Azurite started with `--oauth basic` accepts these tokens over HTTPS. */
export const STORAGE_RESOURCE = 'https://storage.azure.com';
/** Microsoft Graph: the Graph stand-in accepts these tokens (it asks `audienceOf`). */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const TOKEN_RESOURCES = [KEY_VAULT_RESOURCE, STORAGE_RESOURCE, GRAPH_RESOURCE];

export interface IssuedToken {
  token: string;
  expiresOnSeconds: number;
}

export class TokenIssuer {
  /** The identity's client id (appid), as App Service names it in token answers. */
  readonly clientId = randomUUID();
  private readonly principalId = randomUUID();
  private readonly jwtKey = randomBytes(32);
  /** Opaque tokens issued: their resource (audience) and expiry in Unix seconds. */
  private readonly issued = new Map<string, { resource: string; expiresOnSeconds: number }>();

  constructor(
    readonly tenantId: string,
    private readonly lifetimeSeconds: number,
    private readonly now: () => Date,
  ) {}

  issue(resource: string = KEY_VAULT_RESOURCE): IssuedToken {
    const issuedAt = seconds(this.now());
    const expiresOnSeconds = issuedAt + this.lifetimeSeconds;
    if (resource !== STORAGE_RESOURCE) {
      const token = randomBytes(32).toString('base64url');
      this.issued.set(token, { resource, expiresOnSeconds });
      return { token, expiresOnSeconds };
    }
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
      aud: STORAGE_RESOURCE,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: issuedAt,
      nbf: issuedAt,
      exp: expiresOnSeconds,
      appid: this.clientId,
      oid: this.principalId,
      sub: this.principalId,
      tid: this.tenantId,
      idtyp: 'app',
      ver: '1.0',
    })}`;
    const signature = createHmac('sha256', this.jwtKey).update(unsigned).digest('base64url');
    return { token: `${unsigned}.${signature}`, expiresOnSeconds };
  }

  /** The resource an opaque token was issued for; undefined when not issued here or expired. */
  audienceOf(token: string): string | undefined {
    const issued = this.issued.get(token);
    return issued === undefined || issued.expiresOnSeconds <= seconds(this.now())
      ? undefined
      : issued.resource;
  }

  /** A token for a scope (`<resource>/.default`), as a TokenCredential's getToken answers. */
  getToken(scopes: string | string[] = `${KEY_VAULT_RESOURCE}/.default`): {
    token: string;
    expiresOnTimestamp: number;
    tokenType: 'Bearer';
  } {
    const scope = [scopes].flat()[0] ?? '';
    const resource = scope.replace(/\/\.default$/, '').replace(/\/$/, '');
    if (!TOKEN_RESOURCES.includes(resource)) {
      throw new Error(`the identity stand-in issues no token for the scope ${scope}`);
    }
    const { token, expiresOnSeconds } = this.issue(resource);
    return { token, expiresOnTimestamp: expiresOnSeconds * 1000, tokenType: 'Bearer' };
  }
}

import type { Role } from '../../protocol/index.js';
import { hashSecret, newSecret, publicId, SECRET_PREFIXES } from '../identity/secret-token.js';
import type { Dialect } from '../store/dialect.js';
import type { Principal } from './access-policy.js';

export const DEFAULT_TOKEN_TTL_HOURS = 12;

export interface IssuedToken {
  /** The bearer token itself: shown once, never stored. */
  token: string;
  id: string;
  expiresAt: string;
}

export interface TokenInfo {
  id: string;
  label: string | null;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  source: string | null;
}

interface TokenRow {
  id: string;
  account_id: string;
  name: string;
  role: Role;
  school_id: string | null;
  team_id: string | null;
  must_change_password: number;
}

/** last_used_at is written at most this often per token, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * People's bearer tokens. Only a token's SHA-256 is stored; checking one is a primary-key read
 * joined with its account, so a disabled account or a revoked token stops working on the very
 * next request, in every cloud process sharing the database.
 */
export class ApiTokens {
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: Dialect,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** idleMinutes: the token ends after this long without a request (browser sessions); none by default. */
  async issue(accountId: string, options: { ttlHours?: number; label?: string | null; source?: string | null; idleMinutes?: number } = {}): Promise<IssuedToken> {
    const token = newSecret('apiToken');
    const id = publicId('T');
    const createdAt = this.now().getTime();
    const expiresAt = createdAt + (options.ttlHours ?? DEFAULT_TOKEN_TTL_HOURS) * 3_600_000;
    await this.db.execute('INSERT INTO api_tokens (token_hash, id, account_id, label, created_at, expires_at, last_used_at, revoked_at, source, idle_timeout_ms) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $8)', [
      hashSecret(token),
      id,
      accountId,
      options.label ?? null,
      createdAt,
      expiresAt,
      options.source ?? null,
      options.idleMinutes === undefined ? null : options.idleMinutes * 60_000,
    ]);
    return { token, id, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The principal a bearer token stands for, or undefined when it is unknown, expired, revoked, or its account disabled. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (!token.startsWith(SECRET_PREFIXES.apiToken) || token.length > 200) return undefined;
    const now = this.now().getTime();
    const [row] = await this.db.query<TokenRow>(
      `SELECT t.id, t.account_id, a.name, a.role, a.school_id, a.team_id, a.must_change_password
       FROM api_tokens t JOIN accounts a ON a.id = t.account_id
       WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND a.disabled_at IS NULL
         AND (t.idle_timeout_ms IS NULL OR COALESCE(t.last_used_at, t.created_at) + t.idle_timeout_ms > $2)`,
      [hashSecret(token), now],
    );
    if (!row) return undefined;
    this.touch(row.id, now);
    return {
      accountId: row.account_id,
      name: row.name,
      role: row.role,
      schoolId: row.school_id,
      teamId: row.team_id,
      tokenId: row.id,
      mustChangePassword: Number(row.must_change_password) === 1,
    };
  }

  /** Revokes one token of an account (signing out); false when there was none to revoke. */
  async revoke(accountId: string, tokenId: string): Promise<boolean> {
    const changed = await this.db.execute('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL', [this.now().getTime(), tokenId, accountId]);
    return changed > 0;
  }

  async list(accountId: string): Promise<TokenInfo[]> {
    const rows = await this.db.query<{ id: string; label: string | null; created_at: number; expires_at: number; last_used_at: number | null; source: string | null }>(
      'SELECT id, label, created_at, expires_at, last_used_at, source FROM api_tokens WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at',
      [accountId, this.now().getTime()],
    );
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());
    return rows.map((row) => ({ id: row.id, label: row.label, createdAt: iso(row.created_at) ?? '', expiresAt: iso(row.expires_at) ?? '', lastUsedAt: iso(row.last_used_at), source: row.source }));
  }

  /** Drops tokens that expired long ago (retention), so the table does not grow forever. */
  async prune(olderThanDays = 30): Promise<number> {
    return this.db.execute('DELETE FROM api_tokens WHERE expires_at < $1', [this.now().getTime() - olderThanDays * 86_400_000]);
  }

  private touch(tokenId: string, now: number): void {
    const written = this.lastUsedWritten.get(tokenId) ?? 0;
    if (now - written < LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWritten.set(tokenId, now);
    if (this.lastUsedWritten.size > 10_000) this.lastUsedWritten.clear();
    // Informational only: a failed write must not fail the request it belongs to.
    this.db.execute('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [now, tokenId]).catch(() => this.lastUsedWritten.delete(tokenId));
  }
}

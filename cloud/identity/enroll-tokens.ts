import { z } from 'zod';
import { AvcareError, personLineSchema, topicIdSchema } from '../../protocol/index.js';
import type { Actor } from '../accounts/accounts.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Dialect, SqlRunner } from '../store/dialect.js';
import { hashSecret, newSecret, publicId } from './secret-token.js';

export const DEFAULT_ENROLL_TOKEN_HOURS = 7 * 24;

/** Every range of a new token, in one place (the CLI and the API refuse outside them). */
export const newEnrollTokenSchema = z.strictObject({
  schoolId: topicIdSchema.describe('The school the PCs enrolled with it join'),
  roomId: topicIdSchema.optional().describe("Room of the PCs enrolled with it, unless the PC names its own (--room)"),
  label: personLineSchema(128).optional().describe('What it is for, e.g. "building B, 2nd floor"'),
  uses: z.number().int().min(1).max(1000).default(1).describe('How many PCs it may enroll (1 to 1000)'),
  ttlHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(DEFAULT_ENROLL_TOKEN_HOURS)
    .describe('Hours until it expires (1 to 2160, default 168: 7 days)'),
});
export type NewEnrollToken = z.input<typeof newEnrollTokenSchema>;

export type EnrollTokenState = 'active' | 'expired' | 'used-up' | 'revoked';

export interface EnrollTokenInfo {
  id: string;
  schoolId: string;
  roomId: string | null;
  label: string | null;
  maxUses: number;
  uses: number;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  state: EnrollTokenState;
}

export interface EnrollTokenRow {
  id: string;
  school_id: string;
  room_id: string | null;
  label: string | null;
  max_uses: number;
  uses: number;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
}

const COLUMNS = 'id, school_id, room_id, label, max_uses, uses, created_by, created_at, expires_at, revoked_at, revoked_by';

export function tokenState(row: EnrollTokenRow, now: number): EnrollTokenState {
  if (row.revoked_at !== null) return 'revoked';
  if (Number(row.expires_at) <= now) return 'expired';
  if (Number(row.uses) >= Number(row.max_uses)) return 'used-up';
  return 'active';
}

export function toEnrollTokenInfo(row: EnrollTokenRow, now: number): EnrollTokenInfo {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());
  return {
    id: row.id,
    schoolId: row.school_id,
    roomId: row.room_id,
    label: row.label,
    maxUses: Number(row.max_uses),
    uses: Number(row.uses),
    createdBy: row.created_by,
    createdAt: iso(row.created_at) ?? '',
    expiresAt: iso(row.expires_at) ?? '',
    revokedAt: iso(row.revoked_at),
    revokedBy: row.revoked_by,
    state: tokenState(row, now),
  };
}

/** Why a token cannot enroll a new PC, as the error the PC is shown. */
export function refusal(state: Exclude<EnrollTokenState, 'active'>, row: EnrollTokenRow): AvcareError {
  switch (state) {
    case 'expired':
      return new AvcareError('ENROLL_TOKEN_EXPIRED', `the enrollment token ${row.id} expired at ${new Date(Number(row.expires_at)).toISOString()}`, { tokenId: row.id });
    case 'used-up':
      return new AvcareError('ENROLL_TOKEN_USED_UP', `the enrollment token ${row.id} has enrolled all ${row.max_uses} PC(s) it allows`, { tokenId: row.id });
    case 'revoked':
      return new AvcareError('ENROLL_TOKEN_REVOKED', `the enrollment token ${row.id} was revoked`, { tokenId: row.id });
  }
}

/**
 * Enrollment tokens: what a school admin gives the person installing PCs. Only the token's hash
 * is stored; it expires, enrolls a limited number of PCs, and can be revoked.
 */
export class EnrollTokens {
  constructor(
    private readonly db: Dialect,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(input: NewEnrollToken, by: Actor): Promise<{ token: string; info: EnrollTokenInfo }> {
    const parsed = newEnrollTokenSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AvcareError('INVALID_ARGUMENT', `${issue?.path.map(String).join('.') || 'token'}: ${issue?.message ?? 'invalid'}`);
    }
    const spec = parsed.data;
    const token = newSecret('enrollToken');
    const id = publicId('ET');
    const createdAt = this.now().getTime();
    const row: EnrollTokenRow = {
      id,
      school_id: spec.schoolId,
      room_id: spec.roomId ?? null,
      label: spec.label ?? null,
      max_uses: spec.uses,
      uses: 0,
      created_by: by.actor,
      created_at: createdAt,
      expires_at: createdAt + spec.ttlHours * 3_600_000,
      revoked_at: null,
      revoked_by: null,
    };
    await this.db.transaction(async (tx) => {
      await tx.execute(`INSERT INTO enroll_tokens (token_hash, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)`, [
        hashSecret(token),
        row.id,
        row.school_id,
        row.room_id,
        row.label,
        row.max_uses,
        row.uses,
        row.created_by,
        row.created_at,
        row.expires_at,
      ]);
      await this.audit.appendIn(tx, { ...by, action: 'enroll-token.create', target: `enroll-token:${id}`, outcome: 'success', schoolId: spec.schoolId, detail: { uses: spec.uses, expiresAt: new Date(row.expires_at).toISOString(), roomId: row.room_id, label: row.label } });
    });
    return { token, info: toEnrollTokenInfo(row, createdAt) };
  }

  async list(filter: { schoolIds?: readonly string[] } = {}): Promise<EnrollTokenInfo[]> {
    const now = this.now().getTime();
    const rows =
      filter.schoolIds === undefined
        ? await this.db.query<EnrollTokenRow>(`SELECT ${COLUMNS} FROM enroll_tokens ORDER BY created_at DESC`)
        : await this.db.query<EnrollTokenRow>(`SELECT ${COLUMNS} FROM enroll_tokens WHERE ${this.db.inTextList('school_id', 1)} ORDER BY created_at DESC`, [this.db.textList(filter.schoolIds)]);
    return rows.map((row) => toEnrollTokenInfo(row, now));
  }

  async get(id: string): Promise<EnrollTokenInfo | undefined> {
    const [row] = await this.db.query<EnrollTokenRow>(`SELECT ${COLUMNS} FROM enroll_tokens WHERE id = $1`, [id]);
    return row ? toEnrollTokenInfo(row, this.now().getTime()) : undefined;
  }

  async revoke(id: string, by: Actor): Promise<EnrollTokenInfo> {
    const at = this.now().getTime();
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<EnrollTokenRow>(`SELECT ${COLUMNS} FROM enroll_tokens WHERE id = $1${this.db.forUpdate}`, [id]);
      if (!row) throw new AvcareError('ENROLL_TOKEN_NOT_FOUND', `no enrollment token ${id}`);
      if (row.revoked_at !== null) return toEnrollTokenInfo(row, at);
      await tx.execute('UPDATE enroll_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3', [at, by.actor, id]);
      await this.audit.appendIn(tx, { ...by, action: 'enroll-token.revoke', target: `enroll-token:${id}`, outcome: 'success', schoolId: row.school_id, detail: { usesBefore: Number(row.uses) } });
      return toEnrollTokenInfo({ ...row, revoked_at: at, revoked_by: by.actor }, at);
    });
  }

  /** The token's row, locked for the enrollment transaction; undefined for a token this cloud never made. */
  async findIn(tx: SqlRunner, token: string): Promise<EnrollTokenRow | undefined> {
    const [row] = await tx.query<EnrollTokenRow>(`SELECT ${COLUMNS} FROM enroll_tokens WHERE token_hash = $1${this.db.forUpdate}`, [hashSecret(token)]);
    return row;
  }

  /** Takes one use, if one is left: the conditional update is what makes a one-use token enroll exactly one PC. */
  async takeUseIn(tx: SqlRunner, row: EnrollTokenRow): Promise<boolean> {
    const changed = await tx.execute('UPDATE enroll_tokens SET uses = uses + 1 WHERE id = $1 AND uses < max_uses AND revoked_at IS NULL AND expires_at > $2', [row.id, this.now().getTime()]);
    return changed === 1;
  }
}

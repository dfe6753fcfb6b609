import { AvcareError, accountNameSchema, passwordSchema, type Role } from '../../protocol/index.js';
import type { SignedInAccount } from '../../protocol/views/people-view.js';
import type { AuditLog } from '../audit/audit-log.js';
import { publicId } from '../identity/secret-token.js';
import type { Dialect, SqlRunner } from '../store/dialect.js';
import { scopeKindOf } from './access-policy.js';
import { hashPassword, needsRehash, OWASP_SCRYPT, verifyPassword, type ScryptCost } from './password-hash.js';

/** An account as the cloud keeps it: what a signed-in person sees of themselves, and its bookkeeping. */
export interface Account extends SignedInAccount {
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  passwordChangedAt: string;
}

interface AccountRow {
  id: string;
  name: string;
  role: Role;
  school_id: string | null;
  team_id: string | null;
  password_hash: string;
  must_change_password: number;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

const COLUMNS = 'id, name, role, school_id, team_id, password_hash, must_change_password, disabled_at, created_at, updated_at, password_changed_at';

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    schoolId: row.school_id,
    teamId: row.team_id,
    mustChangePassword: Number(row.must_change_password) === 1,
    disabled: row.disabled_at !== null,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
    passwordChangedAt: new Date(Number(row.password_changed_at)).toISOString(),
  };
}

/** Who did an account change and from where: goes into the audit entry. */
export interface Actor {
  actor: string;
  source: string | null;
}

export interface NewAccount {
  name: string;
  role: Role;
  schoolId?: string | null;
  teamId?: string | null;
  password: string;
  /** A password someone else chose (first run, an admin's reset): the owner must replace it at sign-in. */
  mustChangePassword?: boolean;
}

export interface AccountsOptions {
  db: Dialect;
  audit: AuditLog;
  /** OWASP's scrypt cost unless a test needs it cheaper. */
  cost?: ScryptCost;
  /** Known teams: an engineer's team must be one of them (when the service configuration names any). */
  knownTeam?: (teamId: string) => boolean;
  now?: () => Date;
}

/**
 * People's accounts: a name, a role, a scope, a scrypt password hash. Every change is an audit
 * entry written in the same transaction as the change.
 */
export class Accounts {
  private readonly db: Dialect;
  private readonly audit: AuditLog;
  private readonly cost: ScryptCost;
  private readonly now: () => Date;
  /** A hash to verify against when the name is unknown, so the answer takes as long either way. */
  private decoy: Promise<string> | undefined;

  constructor(private readonly options: AccountsOptions) {
    this.db = options.db;
    this.audit = options.audit;
    this.cost = options.cost ?? OWASP_SCRYPT;
    this.now = options.now ?? (() => new Date());
  }

  async count(): Promise<number> {
    const [row] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM accounts');
    return Number(row?.n ?? 0);
  }

  async create(input: NewAccount, by: Actor): Promise<Account> {
    const name = checked(accountNameSchema, input.name, 'name');
    checked(passwordSchema, input.password, 'password');
    const schoolId = input.schoolId ?? null;
    const teamId = input.teamId ?? null;
    this.checkScope(input.role, schoolId, teamId);
    const hash = await hashPassword(input.password, this.cost);
    const at = this.now().getTime();
    const id = publicId('U');
    return this.db.transaction(async (tx) => {
      const [taken] = await tx.query<{ id: string }>('SELECT id FROM accounts WHERE name_key = $1', [name.toLowerCase()]);
      if (taken) throw new AvcareError('ACCOUNT_EXISTS', `an account named "${name}" already exists`, { name });
      await tx.execute(
        `INSERT INTO accounts (id, name, name_key, role, school_id, team_id, password_hash, must_change_password, disabled_at, created_at, updated_at, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $9, $9)`,
        [id, name, name.toLowerCase(), input.role, schoolId, teamId, hash, input.mustChangePassword ? 1 : 0, at],
      );
      await this.audit.appendIn(tx, { ...by, action: 'account.create', target: `user:${name}`, outcome: 'success', schoolId, detail: { role: input.role, schoolId, teamId } });
      const created = await this.byIdIn(tx, id);
      if (!created) throw new Error(`account ${id} vanished within its own transaction`);
      return created;
    });
  }

  async list(filter: { schoolIds?: readonly string[] } = {}): Promise<Account[]> {
    if (filter.schoolIds === undefined) return (await this.db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts ORDER BY name_key`)).map(toAccount);
    const rows = await this.db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE ${this.db.inTextList('school_id', 1)} ORDER BY name_key`, [this.db.textList(filter.schoolIds)]);
    return rows.map(toAccount);
  }

  async byName(name: string): Promise<Account | undefined> {
    const [row] = await this.db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE name_key = $1`, [name.toLowerCase()]);
    return row ? toAccount(row) : undefined;
  }

  async byId(id: string): Promise<Account | undefined> {
    return this.byIdIn(this.db, id);
  }

  /**
   * The account whose password this is, or undefined: unknown name, wrong password and disabled
   * account all look the same to the caller, and take about as long (a decoy hash is checked for
   * an unknown name).
   */
  async verify(name: string, password: string): Promise<Account | undefined> {
    const [row] = await this.db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE name_key = $1`, [name.toLowerCase()]);
    if (!row) {
      this.decoy ??= hashPassword('decoy password that matches nothing', this.cost);
      await verifyPassword(password, await this.decoy);
      return undefined;
    }
    const matches = await verifyPassword(password, row.password_hash);
    if (!matches || row.disabled_at !== null) return undefined;
    if (needsRehash(row.password_hash, this.cost)) {
      // The policy's cost went up since this password was set: upgrade it now that we have it.
      await this.db.execute('UPDATE accounts SET password_hash = $1 WHERE id = $2', [await hashPassword(password, this.cost), row.id]);
    }
    return toAccount(row);
  }

  /**
   * Sets a password. `mustChange` for a password someone else chose (an admin's reset): the owner
   * replaces it at the next sign-in. The account's tokens are revoked except `keepTokenId`.
   */
  async setPassword(id: string, password: string, options: { mustChange: boolean; keepTokenId?: string }, by: Actor): Promise<Account> {
    checked(passwordSchema, password, 'password');
    const hash = await hashPassword(password, this.cost);
    const at = this.now().getTime();
    return this.db.transaction(async (tx) => {
      const account = await this.byIdIn(tx, id);
      if (!account) throw new AvcareError('ACCOUNT_NOT_FOUND', `no account ${id}`);
      await tx.execute('UPDATE accounts SET password_hash = $1, must_change_password = $2, updated_at = $3, password_changed_at = $3 WHERE id = $4', [hash, options.mustChange ? 1 : 0, at, id]);
      const revoked = await revokeTokensIn(tx, id, at, options.keepTokenId);
      await this.audit.appendIn(tx, { ...by, action: 'account.password', target: `user:${account.name}`, outcome: 'success', schoolId: account.schoolId, detail: { mustChange: options.mustChange, tokensRevoked: revoked } });
      return { ...account, mustChangePassword: options.mustChange, passwordChangedAt: new Date(at).toISOString(), updatedAt: new Date(at).toISOString() };
    });
  }

  /** Disables (or enables) an account; disabling revokes its tokens at once. */
  async setDisabled(id: string, disabled: boolean, by: Actor): Promise<Account> {
    const at = this.now().getTime();
    return this.db.transaction(async (tx) => {
      const account = await this.byIdIn(tx, id);
      if (!account) throw new AvcareError('ACCOUNT_NOT_FOUND', `no account ${id}`);
      await tx.execute('UPDATE accounts SET disabled_at = $1, updated_at = $2 WHERE id = $3', [disabled ? at : null, at, id]);
      const revoked = disabled ? await revokeTokensIn(tx, id, at) : 0;
      await this.audit.appendIn(tx, { ...by, action: disabled ? 'account.disable' : 'account.enable', target: `user:${account.name}`, outcome: 'success', schoolId: account.schoolId, detail: { tokensRevoked: revoked } });
      return { ...account, disabled, updatedAt: new Date(at).toISOString() };
    });
  }

  private checkScope(role: Role, schoolId: string | null, teamId: string | null): void {
    const kind = scopeKindOf(role);
    if (kind === 'school' && (schoolId === null || teamId !== null)) throw new AvcareError('INVALID_ARGUMENT', `a ${role} account needs a school (--school) and no team`, { role });
    if (kind === 'team' && (teamId === null || schoolId !== null)) throw new AvcareError('INVALID_ARGUMENT', 'an engineer account needs a service team (--team) and no school', { role });
    if (kind === 'none' && (schoolId !== null || teamId !== null)) throw new AvcareError('INVALID_ARGUMENT', 'an operator account has no school or team: it sees everything', { role });
    if (teamId !== null && this.options.knownTeam && !this.options.knownTeam(teamId)) {
      throw new AvcareError('INVALID_ARGUMENT', `no service team "${teamId}" in the service configuration (--service)`, { teamId });
    }
  }

  private async byIdIn(runner: SqlRunner, id: string): Promise<Account | undefined> {
    const [row] = await runner.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE id = $1`, [id]);
    return row ? toAccount(row) : undefined;
  }
}

/** Revokes every live token of an account (but one); returns how many. */
export function revokeTokensIn(tx: SqlRunner, accountId: string, at: number, exceptTokenId?: string): Promise<number> {
  return exceptTokenId === undefined
    ? tx.execute('UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL', [at, accountId])
    : tx.execute('UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL AND id <> $3', [at, accountId, exceptTokenId]);
}

function checked<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string }> } } }, value: unknown, field: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new AvcareError('INVALID_ARGUMENT', `${field} ${parsed.error.issues[0]?.message ?? 'is invalid'}`, { field });
}

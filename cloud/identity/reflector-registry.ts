/**
 * Broker accounts of reflectors that run in their own process, near the schools they serve. A
 * reflector's account may read every agent's signalling and answer into agents' signalling inboxes,
 * nothing more: it cannot publish telemetry, read telemetry or reach any other inbox topic. Its
 * secret is shown once at creation; revoking it drops the live connection.
 */
import { AvcareError } from '../../protocol/index.js';
import type { Actor } from '../accounts/accounts.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { BrokerAccess, ReflectorBrokerAccount } from '../broker/broker-access.js';
import type { Dialect } from '../store/dialect.js';
import { hashSecret, newSecret, sameHash, SECRET_PREFIXES } from './secret-token.js';

export interface ReflectorAccount {
  id: string;
  username: string;
  clientId: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
}

interface ReflectorRow {
  reflector_id: string;
  mqtt_username: string;
  mqtt_client_id: string;
  secret_hash: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  revoked_by: string | null;
}

const COLUMNS = 'reflector_id, mqtt_username, mqtt_client_id, secret_hash, created_at, created_by, revoked_at, revoked_by';

/** The names a reflector's connection uses: the client id is the one `avcare-cloud reflector --id` connects with. */
export function reflectorBrokerNames(id: string): { username: string; clientId: string } {
  return { username: `reflector:${id}`, clientId: `avcare-reflector:${id}` };
}

export const REFLECTOR_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function toAccount(row: ReflectorRow): ReflectorAccount {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());
  return {
    id: row.reflector_id,
    username: row.mqtt_username,
    clientId: row.mqtt_client_id,
    createdAt: iso(row.created_at) ?? '',
    createdBy: row.created_by,
    revokedAt: iso(row.revoked_at),
    revokedBy: row.revoked_by,
  };
}

export class ReflectorRegistry {
  private broker: BrokerAccess | undefined;

  constructor(
    private readonly db: Dialect,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  attachBroker(broker: BrokerAccess): void {
    this.broker = broker;
  }

  private get brokerAccess(): BrokerAccess {
    if (!this.broker) throw new Error('no broker is attached to the reflector registry yet');
    return this.broker;
  }

  /**
   * A new account, or a new secret for a revoked one (the id comes back into service). An active
   * account is not replaced silently: revoke it first, so the reflector using it is stopped knowingly.
   */
  async create(id: string, by: Actor): Promise<{ account: ReflectorAccount; secret: string }> {
    if (!REFLECTOR_ID_PATTERN.test(id)) throw new AvcareError('INVALID_ARGUMENT', `reflector id "${id.slice(0, 80)}": use letters, digits, dot, dash and underscore, at most 64, starting with a letter or digit`);
    const secret = newSecret('reflectorSecret');
    const { username, clientId } = reflectorBrokerNames(id);
    const at = this.now().getTime();
    const row = await this.db.transaction(async (tx) => {
      const [existing] = await tx.query<ReflectorRow>(`SELECT ${COLUMNS} FROM reflector_accounts WHERE reflector_id = $1${this.db.forUpdate}`, [id]);
      if (existing && existing.revoked_at === null) throw new AvcareError('REFLECTOR_EXISTS', `reflector "${id}" already has an account; revoke it first to issue a new secret`);
      const fresh: ReflectorRow = { reflector_id: id, mqtt_username: username, mqtt_client_id: clientId, secret_hash: hashSecret(secret), created_at: at, created_by: by.actor, revoked_at: null, revoked_by: null };
      if (existing) {
        await tx.execute('UPDATE reflector_accounts SET secret_hash = $1, created_at = $2, created_by = $3, revoked_at = NULL, revoked_by = NULL WHERE reflector_id = $4', [fresh.secret_hash, at, by.actor, id]);
      } else {
        await tx.execute(`INSERT INTO reflector_accounts (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)`, [id, username, clientId, fresh.secret_hash, at, by.actor]);
      }
      await this.audit.appendIn(tx, { ...by, action: 'reflector.create', target: `reflector:${id}`, outcome: 'success', detail: { username } });
      return fresh;
    });
    await this.brokerAccess.grantReflector(this.brokerAccountOf(row), secret);
    return { account: toAccount(row), secret };
  }

  async list(options: { includeRevoked?: boolean } = {}): Promise<ReflectorAccount[]> {
    const rows = await this.db.query<ReflectorRow>(`SELECT ${COLUMNS} FROM reflector_accounts${options.includeRevoked ? '' : ' WHERE revoked_at IS NULL'} ORDER BY reflector_id`);
    return rows.map(toAccount);
  }

  /** Stops the account now: refused at the next connect, and the live connection dropped. Idempotent. */
  async revoke(id: string, by: Actor): Promise<ReflectorAccount> {
    const at = this.now().getTime();
    const row = await this.db.transaction(async (tx) => {
      const [existing] = await tx.query<ReflectorRow>(`SELECT ${COLUMNS} FROM reflector_accounts WHERE reflector_id = $1${this.db.forUpdate}`, [id]);
      if (!existing) throw new AvcareError('REFLECTOR_NOT_FOUND', `no reflector account "${id.slice(0, 80)}"`);
      if (existing.revoked_at !== null) return existing;
      await tx.execute('UPDATE reflector_accounts SET revoked_at = $1, revoked_by = $2 WHERE reflector_id = $3', [at, by.actor, id]);
      await this.audit.appendIn(tx, { ...by, action: 'reflector.revoke', target: `reflector:${id}`, outcome: 'success', detail: {} });
      return { ...existing, revoked_at: at, revoked_by: by.actor };
    });
    // Asked again on a repeated revoke, so a broker that was down the first time catches up.
    await this.brokerAccess.revokeReflector(this.brokerAccountOf(row));
    return toAccount(row);
  }

  /** The reflector behind a broker user name and password, or undefined (unknown, wrong secret, revoked). */
  async verifyMqtt(username: string, password: string): Promise<{ kind: 'reflector'; reflectorId: string; clientId: string; username: string } | undefined> {
    if (!password.startsWith(SECRET_PREFIXES.reflectorSecret) || password.length > 256) return undefined;
    const [row] = await this.db.query<Pick<ReflectorRow, 'reflector_id' | 'mqtt_client_id' | 'secret_hash' | 'revoked_at'>>(
      'SELECT reflector_id, mqtt_client_id, secret_hash, revoked_at FROM reflector_accounts WHERE mqtt_username = $1',
      [username],
    );
    if (!row || row.revoked_at !== null || !sameHash(hashSecret(password), row.secret_hash)) return undefined;
    return { kind: 'reflector', reflectorId: row.reflector_id, clientId: row.mqtt_client_id, username };
  }

  private brokerAccountOf(row: Pick<ReflectorRow, 'reflector_id' | 'mqtt_username' | 'mqtt_client_id'>): ReflectorBrokerAccount {
    return { reflectorId: row.reflector_id, username: row.mqtt_username, clientId: row.mqtt_client_id };
  }
}

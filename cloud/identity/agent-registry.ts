import { AvcareError } from '../../protocol/index.js';
import type { Actor } from '../accounts/accounts.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AgentBrokerAccount, BrokerAccess } from '../broker/broker-access.js';
import type { Dialect, SqlRunner } from '../store/dialect.js';
import { agentKey, type AgentKey } from '../store/store.js';
import { hashSecret, sameHash, SECRET_PREFIXES } from './secret-token.js';

export interface EnrolledAgent {
  id: AgentKey;
  schoolId: string;
  agentId: string;
  roomId: string;
  hostname: string | null;
  enrollTokenId: string;
  enrolledAt: string;
  credentialIssuedAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
  /** A revoked agent an admin let come back as itself at its PC's next enrollment. */
  readmittedAt: string | null;
  /** The PC proves it is this agent with its own key (false: enrolled before keys, proven by its credential). */
  hasKey: boolean;
}

export interface CredentialRow {
  agent_key: string;
  school_id: string;
  agent_id: string;
  room_id: string;
  installation_id: string;
  mqtt_username: string;
  mqtt_client_id: string;
  secret_hash: string;
  enroll_token_id: string;
  hostname: string | null;
  enrolled_at: number;
  credential_issued_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
  revoke_reason: string | null;
  public_key: string | null;
  readmit_at: number | null;
  readmit_by: string | null;
}

/** The columns of an agent_credentials row in CredentialRow's order (the first 15 are what INSERT gives). */
export const CREDENTIAL_COLUMNS =
  'agent_key, school_id, agent_id, room_id, installation_id, mqtt_username, mqtt_client_id, secret_hash, enroll_token_id, hostname, enrolled_at, credential_issued_at, revoked_at, revoked_by, revoke_reason, public_key, readmit_at, readmit_by';

/** Who a broker connection is, once its credentials checked out. */
export interface AgentIdentity {
  kind: 'agent';
  schoolId: string;
  agentId: string;
  clientId: string;
  username: string;
}

export function brokerAccountOf(row: Pick<CredentialRow, 'school_id' | 'agent_id' | 'mqtt_username' | 'mqtt_client_id'>): AgentBrokerAccount {
  return { schoolId: row.school_id, agentId: row.agent_id, username: row.mqtt_username, clientId: row.mqtt_client_id };
}

function toEnrolledAgent(row: CredentialRow): EnrolledAgent {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());
  return {
    id: agentKey(row.school_id, row.agent_id),
    schoolId: row.school_id,
    agentId: row.agent_id,
    roomId: row.room_id,
    hostname: row.hostname,
    enrollTokenId: row.enroll_token_id,
    enrolledAt: iso(row.enrolled_at) ?? '',
    credentialIssuedAt: iso(row.credential_issued_at) ?? '',
    revokedAt: iso(row.revoked_at),
    revokedBy: row.revoked_by,
    revokeReason: row.revoke_reason,
    readmittedAt: iso(row.readmit_at),
    hasKey: row.public_key !== null,
  };
}

/**
 * The enrolled agents and their MQTT credentials. The embedded broker asks `verifyMqtt` on every
 * connect (one primary-key read and a SHA-256), so a revoked agent is refused at once; revoking
 * also tells the broker to drop a live connection.
 */
export class AgentRegistry {
  private broker: BrokerAccess | undefined;

  constructor(
    private readonly db: Dialect,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The broker that enforces access: set once it runs (the embedded one needs this registry first). */
  attachBroker(broker: BrokerAccess): void {
    this.broker = broker;
  }

  get brokerAccess(): BrokerAccess {
    if (!this.broker) throw new Error('no broker is attached to the agent registry yet');
    return this.broker;
  }

  async list(filter: { schoolIds?: readonly string[]; includeRevoked?: boolean } = {}): Promise<EnrolledAgent[]> {
    const where: string[] = [];
    const params = [];
    if (filter.schoolIds !== undefined) {
      params.push(this.db.textList(filter.schoolIds));
      where.push(this.db.inTextList('school_id', 1));
    }
    if (!filter.includeRevoked) where.push('revoked_at IS NULL');
    const rows = await this.db.query<CredentialRow>(`SELECT ${CREDENTIAL_COLUMNS} FROM agent_credentials ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY school_id, agent_id`, params);
    return rows.map(toEnrolledAgent);
  }

  async get(id: AgentKey): Promise<EnrolledAgent | undefined> {
    const row = await this.rowIn(this.db, id);
    return row ? toEnrolledAgent(row) : undefined;
  }

  /** The identity behind a broker user name and password, or undefined (unknown, wrong secret, revoked). */
  async verifyMqtt(username: string, password: string): Promise<AgentIdentity | undefined> {
    if (!password.startsWith(SECRET_PREFIXES.agentSecret) || password.length > 256) return undefined;
    const [row] = await this.db.query<Pick<CredentialRow, 'school_id' | 'agent_id' | 'mqtt_client_id' | 'secret_hash' | 'revoked_at'>>(
      'SELECT school_id, agent_id, mqtt_client_id, secret_hash, revoked_at FROM agent_credentials WHERE mqtt_username = $1',
      [username],
    );
    if (!row || row.revoked_at !== null || !sameHash(hashSecret(password), row.secret_hash)) return undefined;
    return { kind: 'agent', schoolId: row.school_id, agentId: row.agent_id, clientId: row.mqtt_client_id, username };
  }

  /**
   * Revokes an agent: its credentials stop working at the next connect and its live connection is
   * dropped now. Telemetry it already sent stays. Idempotent.
   */
  async revoke(id: AgentKey, by: Actor, reason: string | null): Promise<EnrolledAgent> {
    const at = this.now().getTime();
    const revoked = await this.db.transaction(async (tx) => {
      const row = await this.rowIn(tx, id, true);
      if (!row) throw new AvcareError('AGENT_NOT_FOUND', `no enrolled agent ${id}`);
      if (row.revoked_at !== null) return { row, changed: false };
      await tx.execute('UPDATE agent_credentials SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE agent_key = $4', [at, by.actor, reason, id]);
      await this.audit.appendIn(tx, { ...by, action: 'agent.revoke', target: `agent:${id}`, outcome: 'success', schoolId: row.school_id, detail: { reason } });
      return { row: { ...row, revoked_at: at, revoked_by: by.actor, revoke_reason: reason }, changed: true };
    });
    // After the commit: from here on verifyMqtt refuses it, so a reconnect racing the kick fails too.
    // Asked again on a repeated revoke, so a broker that was down the first time catches up.
    await this.brokerAccess.revokeAgent(brokerAccountOf(revoked.row));
    return toEnrolledAgent(revoked.row);
  }

  /**
   * An admin's explicit act: the revoked agent may come back as itself, at its PC's next enrollment
   * (which must still prove it is that PC). Without it, a revoked agent's PC enrolls as a new agent.
   */
  async readmit(id: AgentKey, by: Actor): Promise<EnrolledAgent> {
    const at = this.now().getTime();
    return this.db.transaction(async (tx) => {
      const row = await this.rowIn(tx, id, true);
      if (!row) throw new AvcareError('AGENT_NOT_FOUND', `no enrolled agent ${id}`);
      if (row.revoked_at === null) throw new AvcareError('INVALID_ARGUMENT', `${id} is not revoked: there is nothing to readmit`);
      await tx.execute('UPDATE agent_credentials SET readmit_at = $1, readmit_by = $2 WHERE agent_key = $3', [at, by.actor, id]);
      await this.audit.appendIn(tx, { ...by, action: 'agent.readmit', target: `agent:${id}`, outcome: 'success', schoolId: row.school_id, detail: { revokedAt: new Date(Number(row.revoked_at)).toISOString() } });
      return toEnrolledAgent({ ...row, readmit_at: at, readmit_by: by.actor });
    });
  }

  async rowIn(runner: SqlRunner, id: string, lock = false): Promise<CredentialRow | undefined> {
    const [row] = await runner.query<CredentialRow>(`SELECT ${CREDENTIAL_COLUMNS} FROM agent_credentials WHERE agent_key = $1${lock ? this.db.forUpdate : ''}`, [id]);
    return row;
  }
}

/**
 * The schema, as ordered migrations. A migration is never edited once released: a change is a new
 * migration. The SQL is written once for both dialects where it can be (it can everywhere so far):
 *
 * - Times are epoch milliseconds in BIGINT: they order and bucket the same in both dialects
 *   (`at / 3600000` is integer division in both), where ISO strings with offsets would not.
 * - JSON is TEXT in both, and so is every free-form string from an agent (reasons, versions,
 *   fault messages, device ids): PostgreSQL TEXT and JSONB cannot hold U+0000, and a lone UTF-16
 *   surrogate does not survive UTF-8 encoding, while JSON text escapes both. A hostile string is
 *   therefore stored verbatim and comes back intact from either database.
 * - DOUBLE PRECISION is REAL in SQLite (type affinity from "DOUB").
 */
export interface Migration {
  readonly id: string;
  readonly sql: string | { readonly sqlite: string; readonly postgres: string };
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: '0001-fleet',
    sql: `
CREATE TABLE agents (
  agent_key TEXT PRIMARY KEY,
  school_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  state TEXT NOT NULL,
  -- JSON {"agentVersion", "reason"?} of the status message that set state.
  status TEXT,
  state_changed_at BIGINT,
  last_seen_at BIGINT NOT NULL,
  last_seq BIGINT,
  -- JSON Device[] of the newest inventory.
  inventory TEXT,
  inventory_at BIGINT,
  device_count INTEGER NOT NULL,
  -- JSON SystemSnapshot of the newest health sample.
  system TEXT,
  health_at BIGINT
);
CREATE INDEX agents_school ON agents (school_id);

CREATE TABLE events (
  event_id TEXT PRIMARY KEY,
  agent_key TEXT NOT NULL,
  seq BIGINT,
  type TEXT NOT NULL,
  at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX events_agent_seq ON events (agent_key, seq);
CREATE INDEX events_received_at ON events (received_at);

-- One row per fault an agent ever reported; a cleared one stays as a tombstone until retention so
-- that a raise delivered late (older than the clear) cannot reopen it.
CREATE TABLE faults (
  agent_key TEXT NOT NULL,
  code TEXT NOT NULL,
  -- JSON text of the device id, '' for faults of the PC itself.
  device_key TEXT NOT NULL,
  state TEXT NOT NULL,
  category TEXT NOT NULL,
  severity TEXT NOT NULL,
  -- JSON {"deviceId", "message", "evidence"}.
  detail TEXT NOT NULL,
  first_seen_at BIGINT NOT NULL,
  raised_at BIGINT NOT NULL,
  changed_at BIGINT NOT NULL,
  event_id TEXT NOT NULL,
  PRIMARY KEY (agent_key, code, device_key)
);

CREATE TABLE health (
  agent_key TEXT NOT NULL,
  at BIGINT NOT NULL,
  resolution TEXT NOT NULL,
  samples INTEGER NOT NULL,
  cpu_load DOUBLE PRECISION NOT NULL,
  mem_available DOUBLE PRECISION NOT NULL,
  disk_use_max DOUBLE PRECISION NOT NULL,
  cpu_temp DOUBLE PRECISION,
  -- JSON OutboxStats, raw samples only.
  outbox TEXT
);
CREATE INDEX health_agent_at ON health (agent_key, at);
CREATE INDEX health_at ON health (at);
-- One average per agent and hour, so a late backlog folded in a later prune merges into it.
CREATE UNIQUE INDEX health_hour ON health (agent_key, at) WHERE resolution = 'hour';
`,
  },
  {
    id: '0002-tickets',
    sql: `
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  -- What the ticket is about: a fault (code + device), AGENT_OFFLINE, or a teacher's report.
  agent_key TEXT NOT NULL,
  code TEXT NOT NULL,
  -- JSON text of the device id as in faults.device_key; '' for the PC itself. A teacher's report
  -- puts its event id here, so every report is a ticket of its own.
  device_key TEXT NOT NULL,
  school_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  -- 1 while a new occurrence belongs to this ticket (open, acknowledged, in progress, or resolved
  -- within the reopen window); 0 once closed. One active ticket per subject, enforced below.
  active INTEGER NOT NULL,
  status TEXT NOT NULL,
  category TEXT NOT NULL,
  severity TEXT NOT NULL,
  -- JSON string[]: why the severity is what it is (the fault's default, a lesson, a room that cannot teach, ...).
  severity_reasons TEXT NOT NULL,
  region_id TEXT,
  team_id TEXT,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  -- JSON {kind, make, model, serial, name, id} of the device, when known.
  device TEXT,
  occurrences INTEGER NOT NULL,
  first_occurrence_at BIGINT NOT NULL,
  last_occurrence_at BIGINT NOT NULL,
  -- The raise of the fault episode the ticket last took in (flap and reopen decisions).
  episode_raised_at BIGINT,
  -- When the agent reported the fault clear; the ticket resolves once it stays clear for the hold time.
  fault_cleared_at BIGINT,
  flaps INTEGER NOT NULL,
  reopens INTEGER NOT NULL,
  opened_at BIGINT NOT NULL,
  acknowledged_at BIGINT,
  first_response_at BIGINT,
  resolved_at BIGINT,
  closed_at BIGINT,
  -- JSON: what the agent already tried, the diagnostic bundle, the resolution report, the rating.
  agent_actions TEXT NOT NULL,
  bundle TEXT,
  resolution TEXT,
  rating TEXT,
  -- JSON string[] of SLA escalations already raised ("resolution:near-breach"), so each is raised once.
  escalations TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tickets_one_active ON tickets (agent_key, code, device_key) WHERE active = 1;
CREATE INDEX tickets_school_status ON tickets (school_id, status);
CREATE INDEX tickets_status_opened ON tickets (status, opened_at);

CREATE TABLE ticket_history (
  ticket_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  -- Per ticket, from 1: orders changes made within the same millisecond.
  step INTEGER NOT NULL,
  -- Who: "agent" (the agent's own evidence), "system" (the engine's rules), "user:NAME", "school:NAME".
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_status TEXT,
  to_status TEXT,
  -- JSON with the details of the change.
  detail TEXT NOT NULL,
  PRIMARY KEY (ticket_id, step)
);
`,
  },
  {
    id: '0003-webhooks',
    sql: `
-- The webhook outbox: ticket events queued in the transaction that made them, drained by the deliverer.
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  -- pending | delivered | given-up
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  -- A claim is a lease: a process that died mid-attempt leaves it to expire.
  claimed_until BIGINT,
  created_at BIGINT NOT NULL,
  last_attempt_at BIGINT,
  last_status INTEGER,
  last_error TEXT,
  delivered_at BIGINT
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, event_id);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, state, created_at, event_id);
`,
  },
  {
    id: '0004-knowledge',
    sql: `
-- What engineers found when they resolved a ticket: the knowledge base grows from resolutions.
CREATE TABLE knowledge_notes (
  ticket_id TEXT PRIMARY KEY,
  code TEXT NOT NULL,
  at BIGINT NOT NULL,
  author TEXT NOT NULL,
  cause TEXT,
  actions TEXT,
  note TEXT NOT NULL
);
CREATE INDEX knowledge_notes_code ON knowledge_notes (code, at);
`,
  },
  {
    id: '0005-on-site',
    sql: `
-- An engineer's visit, when remote help was not enough: its own SLA timer (48 h same city, 72 h elsewhere).
ALTER TABLE tickets ADD COLUMN on_site_requested_at BIGINT;
ALTER TABLE tickets ADD COLUMN on_site_arrived_at BIGINT;
`,
  },
  {
    id: '0006-tickets-school-recent',
    sql: `
-- The school-incident rule asks for a school's recently opened active tickets during a burst, before
-- PostgreSQL has statistics for the table: without this index it walks every active ticket.
CREATE INDEX tickets_school_recent ON tickets (school_id, opened_at) WHERE active = 1;
`,
  },
  {
    id: '0007-identity',
    sql: `
-- People. name_key is the login name in lower case: names are unique without regard to case.
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  -- The scope: a school for school admins and IT teachers, a service team for engineers.
  school_id TEXT,
  team_id TEXT,
  -- scrypt$N$r$p$salt$hash (the parameters travel with the hash, so they can be raised later).
  password_hash TEXT NOT NULL,
  must_change_password INTEGER NOT NULL,
  disabled_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  password_changed_at BIGINT NOT NULL
);

-- Bearer tokens of people; only the SHA-256 of a token is kept.
CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  account_id TEXT NOT NULL,
  label TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT,
  source TEXT
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- Enrollment tokens: a school admin hands one to the IT teacher who installs the PCs.
CREATE TABLE enroll_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  school_id TEXT NOT NULL,
  room_id TEXT,
  label TEXT,
  max_uses INTEGER NOT NULL,
  uses INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT
);
CREATE INDEX enroll_tokens_school ON enroll_tokens (school_id);

-- Enrolled agents and their MQTT credentials (the SHA-256 of a random 256-bit secret).
CREATE TABLE agent_credentials (
  agent_key TEXT PRIMARY KEY,
  school_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  installation_id TEXT NOT NULL,
  mqtt_username TEXT NOT NULL UNIQUE,
  mqtt_client_id TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  enroll_token_id TEXT NOT NULL,
  hostname TEXT,
  enrolled_at BIGINT NOT NULL,
  credential_issued_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT,
  revoke_reason TEXT
);
CREATE INDEX agent_credentials_installation ON agent_credentials (school_id, installation_id);

-- The audit log: append-only, each entry carrying the hash of the one before (a hash chain).
CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  outcome TEXT NOT NULL,
  source TEXT,
  -- The school an entry concerns, so a school admin reads their school's part.
  school_id TEXT,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_school ON audit_log (school_id, seq);

-- The chain's head (one row, locked by every append so two writers never fork the chain) and its
-- base: entries up to base_seq were removed by retention, and base_hash is the hash of the last one.
CREATE TABLE audit_chain (
  id INTEGER PRIMARY KEY,
  head_seq BIGINT NOT NULL,
  head_hash TEXT NOT NULL,
  base_seq BIGINT NOT NULL,
  base_hash TEXT NOT NULL
);
INSERT INTO audit_chain (id, head_seq, head_hash, base_seq, base_hash)
  VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Heads of the chain recorded from time to time, signed with the cloud's Ed25519 key: a deleted
-- tail, or a chain rewritten from some entry on, no longer matches them.
CREATE TABLE audit_anchors (
  seq BIGINT PRIMARY KEY,
  hash TEXT NOT NULL,
  at BIGINT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
);

CREATE TABLE cloud_settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    id: '0008-measurements',
    sql: `
-- A room's test results over time (GET /api/agents/:id/measurements): one agent, one type, by time.
CREATE INDEX events_agent_type_at ON events (agent_key, type, at);
`,
  },
  {
    id: '0009-reflector-accounts',
    sql: `
-- Broker accounts of reflectors that run in their own process (avcare-cloud reflectors add): each
-- reads agents' signalling and answers into their inboxes, nothing else. Kept after revocation for
-- the record; only the secret's hash is stored.
CREATE TABLE reflector_accounts (
  reflector_id TEXT PRIMARY KEY,
  mqtt_username TEXT NOT NULL UNIQUE,
  mqtt_client_id TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT
);
`,
  },
  {
    id: '0010-remote-sessions',
    sql: `
-- Remote diagnosis sessions (issue 12): what an engineer asked for, what the school answered and
-- when the session ended; each command sent inside one and what the agent answered. The audit log
-- keeps the same steps hash-chained; these tables are the working state.
CREATE TABLE remote_sessions (
  session_id TEXT PRIMARY KEY,
  school_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  room_id TEXT,
  engineer_id TEXT NOT NULL,
  engineer_name TEXT NOT NULL,
  team_id TEXT,
  reason TEXT NOT NULL,
  scopes TEXT NOT NULL,
  duration_minutes BIGINT NOT NULL,
  approvers TEXT NOT NULL,
  state TEXT NOT NULL,
  requested_at BIGINT NOT NULL,
  answer_by BIGINT NOT NULL,
  answered_by TEXT,
  answered_at BIGINT,
  expires_at BIGINT,
  ended_at BIGINT,
  ended_by TEXT,
  end_reason TEXT
);
CREATE INDEX remote_sessions_school ON remote_sessions (school_id, requested_at);
CREATE INDEX remote_sessions_state ON remote_sessions (state);
CREATE TABLE remote_commands (
  command_id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES remote_sessions (session_id),
  action TEXT NOT NULL,
  args TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  result TEXT,
  error_code TEXT,
  error_message TEXT,
  finished_at BIGINT
);
CREATE INDEX remote_commands_session ON remote_commands (session_id, issued_at);
`,
  },
  {
    id: '0011-audit-prunes',
    sql: `
-- Retention prunes of the audit log, each signed with the cloud's key: the chain's base may only be
-- where one of these says (a base moved by someone who can write the database is refused).
CREATE TABLE audit_prunes (
  base_seq BIGINT PRIMARY KEY,
  base_hash TEXT NOT NULL,
  last_removed_at BIGINT NOT NULL,
  before_at BIGINT NOT NULL,
  entry_seq BIGINT NOT NULL,
  at BIGINT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
);
`,
  },
  {
    id: '0012-agent-keys',
    sql: `
-- The PC's own Ed25519 key (SPKI PEM), kept at its first enrollment: enrolling again as the same
-- agent needs a signature with it. A revoked agent comes back as itself only once an admin
-- readmitted it (readmit_at); otherwise its PC enrolls as a new agent.
ALTER TABLE agent_credentials ADD COLUMN public_key TEXT;
ALTER TABLE agent_credentials ADD COLUMN readmit_at BIGINT;
ALTER TABLE agent_credentials ADD COLUMN readmit_by TEXT;
`,
  },
  {
    id: '0013-browser-sessions',
    sql: `
-- A browser's sign-in is a token too, kept in an HttpOnly cookie; it ends after this long without
-- a request (the console's idle timeout). NULL: no idle limit (the CLI's and scripts' tokens).
ALTER TABLE api_tokens ADD COLUMN idle_timeout_ms BIGINT;

-- The console's live feed asks each second what changed since a moment ago.
CREATE INDEX agents_state_changed ON agents (state_changed_at);
CREATE INDEX faults_changed ON faults (changed_at);
CREATE INDEX tickets_updated ON tickets (updated_at);
`,
  },
  {
    id: '0014-service-outcomes',
    sql: `
-- How each ticket's service went, written when it happens so the service-quality report is a SQL
-- aggregate: whether each SLA promise was kept (1 met, 0 missed, NULL not yet due or not asked),
-- who fixed it (agent: the fault cleared by itself or by self-help; remote; on-site) and the
-- school's score. Tickets resolved before this migration have NULL here and are left out.
ALTER TABLE tickets ADD COLUMN sla_first_response_met INTEGER;
ALTER TABLE tickets ADD COLUMN sla_resolution_met INTEGER;
ALTER TABLE tickets ADD COLUMN sla_on_site_met INTEGER;
ALTER TABLE tickets ADD COLUMN resolved_via TEXT;
ALTER TABLE tickets ADD COLUMN rating_score INTEGER;
CREATE INDEX tickets_opened ON tickets (opened_at);
`,
  },
  {
    id: '0015-latest-measurements',
    sql: `
-- The newest network and A/V sync result of each agent, JSON {at, verdict, value, unit}: the
-- fleet list shows them without reading the events table.
ALTER TABLE agents ADD COLUMN last_network TEXT;
ALTER TABLE agents ADD COLUMN last_network_at BIGINT;
ALTER TABLE agents ADD COLUMN last_avsync TEXT;
ALTER TABLE agents ADD COLUMN last_avsync_at BIGINT;
`,
  },
  {
    id: '0016-time-partitions',
    sql: {
      // SQLite keeps one table of each: it serves one school, and its retention deletes rows. The
      // hourly key gains the resolution only so that one ON CONFLICT target serves both dialects.
      sqlite: `
DROP INDEX health_hour;
CREATE UNIQUE INDEX health_hour ON health (agent_key, at, resolution) WHERE resolution = 'hour';
`,
      // PostgreSQL's tables that grow with time are partitioned by the agent's time (at), first by
      // how long their rows are kept (health events for days, other events for a year; raw health
      // for days, hourly health for months), then by ranges of time, so that retention drops a
      // whole partition. The ranges are made by cloud/store/time-partitions.ts; rows outside them
      // (a backlog from before the migration, a PC whose clock is far off, the evidence of a fault
      // still open) live in each table's "outside" partition and are deleted row by row.
      // A unique key of a partitioned table must hold the partition keys: an event is a duplicate
      // when its id, type and time all match, as every redelivery's do.
      postgres: `
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER TABLE events_unpartitioned DROP CONSTRAINT events_pkey;
DROP INDEX events_agent_seq, events_received_at, events_agent_type_at;
CREATE TABLE events (
  event_id TEXT NOT NULL,
  agent_key TEXT NOT NULL,
  seq BIGINT,
  type TEXT NOT NULL,
  at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  payload TEXT NOT NULL
) PARTITION BY LIST (type);
CREATE TABLE events_health PARTITION OF events FOR VALUES IN ('health') PARTITION BY RANGE (at);
CREATE TABLE events_other PARTITION OF events DEFAULT PARTITION BY RANGE (at);
CREATE TABLE events_health_outside PARTITION OF events_health DEFAULT;
CREATE TABLE events_other_outside PARTITION OF events_other DEFAULT;
INSERT INTO events SELECT event_id, agent_key, seq, type, at, received_at, payload FROM events_unpartitioned;
DROP TABLE events_unpartitioned;
CREATE UNIQUE INDEX events_key ON events (event_id, type, at);
CREATE INDEX events_agent_seq ON events (agent_key, seq);
CREATE INDEX events_received_at ON events (received_at);
CREATE INDEX events_agent_type_at ON events (agent_key, type, at);

ALTER TABLE health RENAME TO health_unpartitioned;
DROP INDEX health_agent_at, health_at, health_hour;
CREATE TABLE health (
  agent_key TEXT NOT NULL,
  at BIGINT NOT NULL,
  resolution TEXT NOT NULL,
  samples INTEGER NOT NULL,
  cpu_load DOUBLE PRECISION NOT NULL,
  mem_available DOUBLE PRECISION NOT NULL,
  disk_use_max DOUBLE PRECISION NOT NULL,
  cpu_temp DOUBLE PRECISION,
  outbox TEXT
) PARTITION BY LIST (resolution);
CREATE TABLE health_raw PARTITION OF health FOR VALUES IN ('raw') PARTITION BY RANGE (at);
CREATE TABLE health_hourly PARTITION OF health FOR VALUES IN ('hour') PARTITION BY RANGE (at);
CREATE TABLE health_raw_outside PARTITION OF health_raw DEFAULT;
CREATE TABLE health_hourly_outside PARTITION OF health_hourly DEFAULT;
INSERT INTO health SELECT agent_key, at, resolution, samples, cpu_load, mem_available, disk_use_max, cpu_temp, outbox FROM health_unpartitioned;
DROP TABLE health_unpartitioned;
CREATE INDEX health_agent_at ON health (agent_key, at);
CREATE INDEX health_at ON health (at);
CREATE UNIQUE INDEX health_hour ON health (agent_key, at, resolution) WHERE resolution = 'hour';
`,
    },
  },
  {
    id: '0017-fleet-page-order',
    sql: {
      // SQLite's primary key already orders agent_key by code point, as the fleet page does.
      sqlite: '',
      // The fleet page orders by code point (COLLATE "C"), which the primary key's index, in the
      // database's locale, cannot serve: without this index every page sorted the whole fleet and
      // computed each PC's fault summary first (117 ms at 20,000 PCs in bench:growth).
      postgres: 'CREATE INDEX agents_key_code_point ON agents (agent_key COLLATE "C");',
    },
  },
];

export function migrationSql(migration: Migration, dialect: 'sqlite' | 'postgres'): string {
  return typeof migration.sql === 'string' ? migration.sql : migration.sql[dialect];
}

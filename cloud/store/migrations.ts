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
];

export function migrationSql(migration: Migration, dialect: 'sqlite' | 'postgres'): string {
  return typeof migration.sql === 'string' ? migration.sql : migration.sql[dialect];
}

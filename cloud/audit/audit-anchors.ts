import { appendFileSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Logger } from '../../protocol/log.js';
import type { CloudSigningKey } from '../identity/signing-key.js';
import type { Dialect } from '../store/dialect.js';
import type { AuditLog } from './audit-log.js';
import { auditPruneLineSchema, prunesInDatabase, type AuditPruneRecord } from './audit-prune.js';

/**
 * A recorded head of the audit chain: "entry #seq had this hash at this time", signed with the
 * cloud's key. Deleting the newest entries leaves a chain whose links all hold; only a head
 * recorded before the deletion shows that entries are missing. Anchors go to the database and
 * to a file beside the signing key, so a database rolled back or edited as a whole is still
 * caught by the file, and a forged anchor fails its signature.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
  at: string;
  keyId: string;
  signature: string;
}

export const auditAnchorSchema = z.strictObject({
  seq: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.iso.datetime(),
  keyId: z.string(),
  signature: z.string(),
});

/** The exact bytes an anchor's signature covers. */
export function anchorStatement(anchor: Pick<AuditAnchor, 'seq' | 'hash' | 'at'>): string {
  return `avcare-audit-anchor:v1:${anchor.seq}:${anchor.hash}:${anchor.at}`;
}

export interface AuditAnchorsOptions {
  db: Dialect;
  audit: AuditLog;
  key: CloudSigningKey;
  /** JSON lines, one anchor each; undefined keeps anchors in the database only. */
  file?: string;
  log: Logger;
  now?: () => Date;
}

export class AuditAnchors {
  private readonly log: Logger;
  private readonly now: () => Date;
  private lastSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private recording: Promise<AuditAnchor | undefined> | undefined;

  constructor(private readonly options: AuditAnchorsOptions) {
    this.log = options.log.child({ module: 'audit-anchors' });
    this.now = options.now ?? (() => new Date());
  }

  /** Records the head if it moved since the last anchor; at most one recording at a time. */
  record(): Promise<AuditAnchor | undefined> {
    this.recording ??= this.recordHead().finally(() => {
      this.recording = undefined;
    });
    return this.recording;
  }

  /** Records the head every `intervalMs` (and once now). */
  start(intervalMs: number): void {
    const tick = (): void => {
      this.record().catch((error: unknown) => this.log.error({ err: error }, 'recording the audit head failed; the next tick tries again'));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  /** A signed prune record goes to the file too, so a database edited as a whole cannot drop it. */
  keepPrune(record: AuditPruneRecord): void {
    if (this.options.file !== undefined) appendFileSync(this.options.file, `${JSON.stringify({ type: 'prune', ...record })}\n`, { mode: 0o600 });
  }

  /** Stops the timer and records the final head, so a clean stop leaves no unanchored tail. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.record();
  }

  private async recordHead(): Promise<AuditAnchor | undefined> {
    const { db, audit, key, file } = this.options;
    const head = await audit.head();
    if (head.seq === 0 || head.seq <= this.lastSeq) return undefined;
    const [known] = await db.query<{ seq: number }>('SELECT seq FROM audit_anchors WHERE seq = $1', [head.seq]);
    const at = this.now().toISOString();
    const anchor: AuditAnchor = { seq: head.seq, hash: head.hash, at, keyId: key.keyId, signature: key.sign(anchorStatement({ seq: head.seq, hash: head.hash, at })) };
    if (!known) {
      await db.execute('INSERT INTO audit_anchors (seq, hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING', [
        anchor.seq,
        anchor.hash,
        Date.parse(anchor.at),
        anchor.keyId,
        anchor.signature,
      ]);
    }
    if (file !== undefined) appendFileSync(file, `${JSON.stringify(anchor)}\n`, { mode: 0o600 });
    this.lastSeq = head.seq;
    this.log.info({ seq: anchor.seq, hash: anchor.hash }, 'audit head recorded');
    return anchor;
  }
}

export async function anchorsInDatabase(db: Dialect): Promise<AuditAnchor[]> {
  const rows = await db.query<{ seq: number; hash: string; at: number; key_id: string; signature: string }>('SELECT seq, hash, at, key_id, signature FROM audit_anchors ORDER BY seq');
  return rows.map((row) => ({ seq: Number(row.seq), hash: row.hash, at: new Date(Number(row.at)).toISOString(), keyId: row.key_id, signature: row.signature }));
}

/** What the anchors file holds: recorded heads and prune records; a line that is neither is reported, not skipped in silence. */
export function anchorsInFile(file: string): { anchors: AuditAnchor[]; prunes: AuditPruneRecord[]; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { anchors: [], prunes: [], problems: [] };
    throw error;
  }
  const anchors: AuditAnchor[] = [];
  const prunes: AuditPruneRecord[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      problems.push(`${file} line ${index + 1} is not JSON`);
      return;
    }
    const prune = auditPruneLineSchema.safeParse(json);
    if (prune.success) {
      const { type: _type, ...record } = prune.data;
      prunes.push(record);
      return;
    }
    const anchor = auditAnchorSchema.safeParse(json);
    if (anchor.success) anchors.push(anchor.data);
    else problems.push(`${file} line ${index + 1} is neither an audit anchor nor a prune record`);
  });
  return { anchors, prunes, problems };
}

/** Every recorded head and prune record, from the database and (when given) the anchors file. */
export async function auditRecords(db: Dialect, file: string | undefined): Promise<{ anchors: AuditAnchor[]; prunes: AuditPruneRecord[]; fileProblems: string[] }> {
  const fromFile = file === undefined ? { anchors: [], prunes: [], problems: [] } : anchorsInFile(file);
  return {
    anchors: [...(await anchorsInDatabase(db)), ...fromFile.anchors],
    prunes: [...(await prunesInDatabase(db)), ...fromFile.prunes],
    fileProblems: fromFile.problems,
  };
}

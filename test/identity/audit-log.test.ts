/**
 * The audit log's hash chain against tampering, on SQLite and PostgreSQL: an edited entry, a
 * deleted middle entry, a deleted tail, and a chain rewritten from some entry on (hashes
 * recomputed) are each found by `verifyAuditLog`, which names the first broken link.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { auditRecords, AuditAnchors } from '../../cloud/audit/audit-anchors.js';
import { exportAudit } from '../../cloud/audit/audit-export.js';
import { AuditLog, entryHash, type AuditRow } from '../../cloud/audit/audit-log.js';
import { AuditPruner } from '../../cloud/audit/audit-prune.js';
import { verifyAuditLog } from '../../cloud/audit/audit-verify.js';
import { CloudSigningKey } from '../../cloud/identity/signing-key.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';

describe.each<Backend>(['sqlite', 'postgres'])('audit log on %s', (backend) => {
  let opened: StoreUnderTest | undefined;
  afterEach(async () => {
    await opened?.dispose();
    opened = undefined;
  });

  async function logWithEntries(count: number): Promise<{ audit: AuditLog; anchors: AuditAnchors; pruner: AuditPruner; key: CloudSigningKey; file: string; verify: () => ReturnType<typeof verifyAuditLog> }> {
    opened = await openTestStore(backend);
    const { store } = opened;
    const dir = mkdtempSync(join(tmpdir(), 'avcare-audit-'));
    const { key } = CloudSigningKey.loadOrCreate(join(dir, 'signing-key.pem'));
    const audit = new AuditLog(store.database);
    const file = join(dir, 'audit-anchors.jsonl');
    const anchors = new AuditAnchors({ db: store.database, audit, key, file, log: silentLogger });
    for (let index = 1; index <= count; index += 1) {
      await audit.append({ actor: `user:admin-${index % 3}`, action: index % 2 === 0 ? 'auth.login' : 'agent.enroll', target: `agent:sch-1:pc-${index}`, outcome: 'success', source: '10.0.0.5', schoolId: 'sch-1', detail: { index } });
    }
    const verify = async () => verifyAuditLog({ audit, ...(await auditRecords(store.database, file)), publicKeyPem: key.publicKeyPem });
    return { audit, anchors, pruner: new AuditPruner({ audit, key, anchors }), key, file, verify };
  }

  const sql = (text: string, params: (string | number)[] = []) => {
    if (!opened) throw new Error('no store');
    return opened.store.database.execute(text, params);
  };

  it('chains every entry to the one before and verifies an untouched log', async () => {
    const { audit, anchors, verify } = await logWithEntries(12);
    await anchors.record();
    const entries = await audit.list();
    expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
    entries.forEach((entry, index) => {
      if (index > 0) expect(entry.prevHash).toBe(entries[index - 1]?.hash);
    });
    const report = await verify();
    expect(report).toMatchObject({ ok: true, entries: 12, firstSeq: 1, lastSeq: 12, firstProblem: null, problems: [] });
    expect(report.anchorsChecked).toBe(1);
  });

  it('finds an edited entry and names it', async () => {
    const { verify } = await logWithEntries(10);
    // Someone with database access turns a failed login into a success.
    await sql("UPDATE audit_log SET outcome = 'failure' WHERE seq = 6");
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ seq: 6, kind: 'changed' });
    expect(report.firstProblem?.message).toContain('entry #6');
  });

  it('finds a deleted middle entry', async () => {
    const { verify } = await logWithEntries(10);
    await sql('DELETE FROM audit_log WHERE seq = 4');
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ seq: 4, kind: 'gap' });
    expect(report.firstProblem?.message).toContain('#4');
  });

  it('finds a deleted tail through the recorded heads, even when the head row was edited to match', async () => {
    const { anchors, verify } = await logWithEntries(10);
    await anchors.record();
    // The last three entries go, and the chain's head row is set back so the chain itself looks whole.
    const [row] = (await opened?.store.database.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = 7')) ?? [];
    await sql('DELETE FROM audit_log WHERE seq > 7');
    await sql('UPDATE audit_chain SET head_seq = 7, head_hash = $1 WHERE id = 1', [row?.hash ?? '']);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ seq: 8, kind: 'deleted-tail' });
    expect(report.firstProblem?.message).toMatch(/ends at #7 .* #10/);
  });

  it('finds a deleted tail from the anchors file when the database\'s anchors were deleted too', async () => {
    const { anchors, verify } = await logWithEntries(10);
    await anchors.record();
    const [row] = (await opened?.store.database.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = 5')) ?? [];
    await sql('DELETE FROM audit_log WHERE seq > 5');
    await sql('DELETE FROM audit_anchors');
    await sql('UPDATE audit_chain SET head_seq = 5, head_hash = $1 WHERE id = 1', [row?.hash ?? '']);
    expect((await verify()).firstProblem).toMatchObject({ seq: 6, kind: 'deleted-tail' });
  });

  it('finds a chain rewritten with recomputed hashes, and a forged anchor', async () => {
    const { anchors, file, verify } = await logWithEntries(8);
    await anchors.record();
    // Rewrite entry 3 and re-chain everything after it: every link holds, but the signed head does not match.
    const rows = (await opened?.store.database.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq')) ?? [];
    let prev = rows[1]?.hash ?? '';
    for (const row of rows.slice(2)) {
      const edited = { ...row, actor: row.seq === 3 ? 'user:someone-else' : row.actor, prev_hash: prev };
      const hash = entryHash(edited);
      await sql('UPDATE audit_log SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [edited.actor, prev, hash, Number(row.seq)]);
      prev = hash;
    }
    await sql('UPDATE audit_chain SET head_hash = $1 WHERE id = 1', [prev]);
    await sql('DELETE FROM audit_anchors');
    const rewritten = await verify();
    expect(rewritten.firstProblem).toMatchObject({ seq: 8, kind: 'rewritten' });
    // An anchor written to match the rewrite is not signed by the cloud's key.
    writeFileSync(file, `${JSON.stringify({ seq: 8, hash: prev, at: new Date().toISOString(), keyId: 'forged', signature: Buffer.alloc(64).toString('base64') })}\n`);
    expect((await verify()).problems.map((problem) => problem.kind)).toContain('bad-anchor');
  });

  /** Entries 1..count written two years ago, as retention would find them. */
  const ageEntries = (upToSeq: number) => sql('UPDATE audit_log SET at = $1 WHERE seq <= $2', [Date.now() - 2 * 365 * 86_400_000, upToSeq]);
  const rehash = async (upToSeq: number) => {
    // Aged entries keep valid hashes and links, as if they had really been written then.
    const rows = (await opened?.store.database.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq')) ?? [];
    let prev = '0'.repeat(64);
    for (const row of rows) {
      const hash = entryHash({ ...row, prev_hash: prev });
      await sql('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, hash, Number(row.seq)]);
      prev = hash;
    }
    await sql('UPDATE audit_chain SET head_hash = $1 WHERE id = 1', [prev]);
    return upToSeq;
  };

  it('prunes entries past retention under a signed record, and verifies the rest from that base', async () => {
    const { audit, anchors, pruner, file, verify } = await logWithEntries(6);
    await ageEntries(3);
    await rehash(3);
    await anchors.record();
    const { removed, record } = await pruner.prune(new Date(Date.now() - 365 * 86_400_000));
    expect(removed).toBe(3);
    expect(record).toMatchObject({ baseSeq: 3, entrySeq: 7 });
    const report = await verify();
    expect(report).toMatchObject({ ok: true, baseSeq: 3, firstSeq: 4, lastSeq: 7, prunesChecked: 1 });
    expect((await audit.list({ action: 'audit.prune' }))[0]?.detail).toMatchObject({ removedEntries: 3, upToSeq: 3 });
    // The record is in the anchors file too, and the head after the prune was anchored.
    expect(readFileSync(file, 'utf8')).toContain('"type":"prune"');
    expect(report.anchorsChecked).toBeGreaterThanOrEqual(1);
  });

  it('refuses a base moved past deleted oldest entries when no signed prune accounts for it', async () => {
    const { anchors, verify } = await logWithEntries(8);
    await anchors.record();
    // Someone who can write the database deletes #1..#4 and moves the base past them, as retention would.
    const [fourth] = (await opened?.store.database.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = 4')) ?? [];
    await sql('DELETE FROM audit_log WHERE seq <= 4');
    await sql('UPDATE audit_chain SET base_seq = 4, base_hash = $1 WHERE id = 1', [fourth?.hash ?? '']);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ seq: 1, kind: 'unaccounted-base' });
    expect(report.firstProblem?.message).toContain('no prune signed by this cloud removed entries #1..#4');
  });

  it('refuses a log emptied entirely with its base moved to its head, from the heads recorded in the file', async () => {
    const { anchors, verify } = await logWithEntries(5);
    await anchors.record();
    const head = (await opened?.store.database.query<{ head_seq: number; head_hash: string }>('SELECT head_seq, head_hash FROM audit_chain WHERE id = 1')) ?? [];
    await sql('DELETE FROM audit_log');
    await sql('DELETE FROM audit_anchors');
    await sql('UPDATE audit_chain SET base_seq = $1, base_hash = $2 WHERE id = 1', [Number(head[0]?.head_seq), head[0]?.head_hash ?? '']);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.problems.map((problem) => problem.kind)).toContain('unaccounted-base');
  });

  it('refuses a legitimate prune\'s base when the entries kept after it, its own record among them, were deleted too', async () => {
    const { pruner, file, verify } = await logWithEntries(6);
    await ageEntries(2);
    await rehash(2);
    await pruner.prune(new Date(Date.now() - 365 * 86_400_000));
    // Everything after the base goes, the head is set back to the base, and the database's heads are deleted.
    const [chain] = (await opened?.store.database.query<{ base_seq: number; base_hash: string }>('SELECT base_seq, base_hash FROM audit_chain WHERE id = 1')) ?? [];
    await sql('DELETE FROM audit_log');
    await sql('DELETE FROM audit_anchors');
    await sql('UPDATE audit_chain SET head_seq = $1, head_hash = $2 WHERE id = 1', [Number(chain?.base_seq), chain?.base_hash ?? '']);
    expect((await verify()).firstProblem).toMatchObject({ kind: 'deleted-tail' });
    // Without the anchors file (a cloud run without one, or the file lost too) the signed prune alone still shows it.
    writeFileSync(file, '');
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ kind: 'deleted-tail' });
    expect(report.firstProblem?.message).toContain('the prune at');
  });

  it('refuses a prune of entries younger than the retention period, and a forged prune record', async () => {
    const { pruner, file, verify } = await logWithEntries(5);
    // A cloud told to prune everything before now removes entries written today.
    await pruner.prune(new Date(Date.now() + 1000));
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.problems.map((problem) => problem.kind)).toContain('early-prune');
    expect(report.problems.find((problem) => problem.kind === 'early-prune')?.message).toContain('younger than the 365-day retention');

    const forged = { type: 'prune', baseSeq: 9, baseHash: 'a'.repeat(64), lastRemovedAt: '2020-01-01T00:00:00.000Z', before: '2020-01-02T00:00:00.000Z', entrySeq: 10, at: '2022-01-01T00:00:00.000Z', keyId: 'forged', signature: Buffer.alloc(64).toString('base64') };
    writeFileSync(file, `${JSON.stringify(forged)}\n`, { flag: 'a' });
    expect((await verify()).problems.map((problem) => problem.kind)).toContain('bad-prune');
  });

  it('exports JSON and CSV, with spreadsheet formulas neutralised', async () => {
    const { audit } = await logWithEntries(2);
    await audit.append({ actor: '=HYPERLINK("http://evil")', action: 'auth.login', outcome: 'failure', target: 'user:"quoted, name"' });
    const chunks: string[] = [];
    const out = { write: (chunk: string) => chunks.push(chunk) };
    expect(await exportAudit(audit, out, { format: 'json' })).toBe(3);
    expect((JSON.parse(chunks.join('')) as unknown[]).length).toBe(3);
    chunks.length = 0;
    await exportAudit(audit, out, { format: 'csv' });
    const lines = chunks.join('').trim().split('\n');
    expect(lines[0]).toBe('seq,at,actor,action,target,outcome,source,schoolId,detail,prevHash,hash');
    expect(lines[3]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(lines[3]).toContain('"user:""quoted, name"""');
  });
});

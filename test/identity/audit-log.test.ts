/**
 * The audit log's hash chain against tampering, on SQLite and PostgreSQL: an edited entry, a
 * deleted middle entry, a deleted tail, and a chain rewritten from some entry on (hashes
 * recomputed) are each found by `verifyAuditLog`, which names the first broken link.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { anchorsInDatabase, anchorsInFile, AuditAnchors } from '../../cloud/audit/audit-anchors.js';
import { exportAudit } from '../../cloud/audit/audit-export.js';
import { AuditLog, entryHash, type AuditRow } from '../../cloud/audit/audit-log.js';
import { verifyAuditLog } from '../../cloud/audit/audit-verify.js';
import { CloudSigningKey } from '../../cloud/identity/signing-key.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';

describe.each<Backend>(['sqlite', 'postgres'])('audit log on %s', (backend) => {
  let opened: StoreUnderTest | undefined;
  afterEach(async () => {
    await opened?.dispose();
    opened = undefined;
  });

  async function logWithEntries(count: number): Promise<{ audit: AuditLog; anchors: AuditAnchors; key: CloudSigningKey; file: string; verify: () => ReturnType<typeof verifyAuditLog> }> {
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
    const verify = async () => verifyAuditLog({ audit, anchors: [...(await anchorsInDatabase(store.database)), ...anchorsInFile(file).anchors], publicKeyPem: key.publicKeyPem });
    return { audit, anchors, key, file, verify };
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

  it('prunes entries past retention and still verifies the rest from the recorded base', async () => {
    const { audit, anchors, verify } = await logWithEntries(6);
    await anchors.record();
    await sql('UPDATE audit_log SET at = 0 WHERE seq <= 3');
    // Entries 1-3 changed (their at): only retention may remove them, and verification then starts after them.
    await audit.prune(new Date(1000));
    const report = await verify();
    expect(report).toMatchObject({ ok: true, baseSeq: 3, firstSeq: 4, lastSeq: 7 });
    expect((await audit.list({ action: 'audit.prune' }))[0]?.detail).toMatchObject({ removedEntries: 3, upToSeq: 3 });
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

import { verifySignature } from '../identity/signing-key.js';
import { anchorStatement, type AuditAnchor } from './audit-anchors.js';
import { entryHash, type AuditLog } from './audit-log.js';

export type AuditProblemKind = 'changed' | 'link' | 'gap' | 'deleted-tail' | 'rewritten' | 'bad-anchor';

export interface AuditProblem {
  /** The first entry concerned (problems are ordered by it). */
  seq: number;
  kind: AuditProblemKind;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries read and checked. */
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Entries removed by retention (the chain starts after them). */
  baseSeq: number;
  anchorsChecked: number;
  /** The first broken link, in chain order; null when the log is intact. */
  firstProblem: AuditProblem | null;
  problems: AuditProblem[];
}

export interface VerifyOptions {
  audit: AuditLog;
  /** Anchors from the database and from the anchors file. */
  anchors: readonly AuditAnchor[];
  /** The cloud's public key, to check the anchors' signatures (from the key file when at hand). */
  publicKeyPem: string;
  pageSize?: number;
}

/**
 * Walks the whole chain once, in pages: every entry's hash is recomputed from its fields, every
 * entry must name the previous one's hash and follow it without a gap, and every signed anchor
 * must match the entry it names. A deleted tail leaves a valid chain, so only the anchors (and
 * the head row, when not edited too) can show it.
 */
export async function verifyAuditLog(options: VerifyOptions): Promise<AuditVerification> {
  const { audit } = options;
  const pageSize = options.pageSize ?? 1000;
  const problems: AuditProblem[] = [];
  const head = await audit.head();
  const anchors = dedupe(options.anchors).filter((anchor) => anchor.seq > head.baseSeq);
  const anchored = new Map(anchors.map((anchor) => [anchor.seq, anchor]));
  const seenHashes = new Map<number, string>();

  let prevSeq = head.baseSeq;
  let prevHash = head.baseHash;
  let entries = 0;
  let firstSeq: number | null = null;
  for (;;) {
    const rows = await audit.rowsAfter(prevSeq, pageSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.seq);
      firstSeq ??= seq;
      entries += 1;
      if (seq !== prevSeq + 1) {
        problems.push({ seq: prevSeq + 1, kind: 'gap', message: `entries #${prevSeq + 1}${seq - 1 > prevSeq + 1 ? `..#${seq - 1}` : ''} are missing: deleted from the middle of the log` });
      } else if (row.prev_hash !== prevHash) {
        problems.push({ seq, kind: 'link', message: `entry #${seq} does not follow #${prevSeq}: it names a previous hash that #${prevSeq} does not have (one of the two was changed)` });
      }
      if (entryHash(row) !== row.hash) {
        problems.push({ seq, kind: 'changed', message: `entry #${seq} (${row.action} by ${row.actor}) was changed after it was written: its fields no longer match its hash` });
      }
      if (anchored.has(seq)) seenHashes.set(seq, row.hash);
      prevSeq = seq;
      prevHash = row.hash;
    }
  }
  const lastSeq = entries > 0 ? prevSeq : null;
  const end = lastSeq ?? head.baseSeq;

  if (head.seq > end) {
    problems.push({ seq: end + 1, kind: 'deleted-tail', message: `the log ends at #${end} but its head says #${head.seq}: entries #${end + 1}..#${head.seq} were deleted` });
  }
  for (const anchor of anchors) {
    if (!verifySignature(options.publicKeyPem, anchorStatement(anchor), anchor.signature)) {
      problems.push({ seq: anchor.seq, kind: 'bad-anchor', message: `the head recorded for #${anchor.seq} at ${anchor.at} is not signed by this cloud's key (key id ${anchor.keyId}): it was forged or the key changed` });
      continue;
    }
    if (anchor.seq > end) {
      problems.push({ seq: end + 1, kind: 'deleted-tail', message: `the log ends at #${end} but at ${anchor.at} it had reached #${anchor.seq}: entries #${end + 1}..#${anchor.seq} were deleted` });
      continue;
    }
    const stored = seenHashes.get(anchor.seq);
    if (stored !== undefined && stored !== anchor.hash) {
      problems.push({ seq: anchor.seq, kind: 'rewritten', message: `entry #${anchor.seq} is not the one recorded at ${anchor.at}: the chain was rewritten at or before #${anchor.seq}` });
    }
  }

  problems.sort((a, b) => a.seq - b.seq);
  const unique = problems.filter((problem, index) => index === 0 || problem.message !== problems[index - 1]?.message);
  return { ok: unique.length === 0, entries, firstSeq, lastSeq, baseSeq: head.baseSeq, anchorsChecked: anchors.length, firstProblem: unique[0] ?? null, problems: unique };
}

/** The same anchor from the database and the file counts once; two different ones for one seq both count. */
function dedupe(anchors: readonly AuditAnchor[]): AuditAnchor[] {
  const seen = new Set<string>();
  return anchors.filter((anchor) => {
    const key = `${anchor.seq}:${anchor.hash}:${anchor.signature}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

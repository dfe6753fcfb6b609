import { verifySignature } from '../identity/signing-key.js';
import { anchorStatement, type AuditAnchor } from './audit-anchors.js';
import { entryHash, GENESIS_HASH, type AuditLog } from './audit-log.js';
import { AUDIT_MIN_RETENTION_DAYS, pruneStatement, prunedTooEarly, type AuditPruneRecord } from './audit-prune.js';

export type AuditProblemKind = 'changed' | 'link' | 'gap' | 'deleted-tail' | 'rewritten' | 'bad-anchor' | 'bad-prune' | 'unaccounted-base' | 'early-prune';

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
  /** Signed prune records checked (the one the base rests on among them). */
  prunesChecked: number;
  /** The first broken link, in chain order; null when the log is intact. */
  firstProblem: AuditProblem | null;
  problems: AuditProblem[];
}

export interface VerifyOptions {
  audit: AuditLog;
  /** Anchors from the database and from the anchors file. */
  anchors: readonly AuditAnchor[];
  /** Signed prune records from the database and from the anchors file: the only things that may move the base. */
  prunes: readonly AuditPruneRecord[];
  /** Entries younger than this were never to be removed (the cloud's floor, 365, unless told more). */
  minRetentionDays?: number;
  /** The cloud's public key, to check the anchors' signatures (from the key file when at hand). */
  publicKeyPem: string;
  pageSize?: number;
}

/**
 * Walks the whole chain once, in pages: every entry's hash is recomputed from its fields, every
 * entry must name the previous one's hash and follow it without a gap, and every signed anchor
 * must match the entry it names. A deleted tail leaves a valid chain, so only the anchors (and
 * the head row, when not edited too) can show it. The chain's base (where the walk starts) is
 * believed only where a signed prune record puts it, so deleting the oldest entries and moving
 * the base past them is found too.
 */
export async function verifyAuditLog(options: VerifyOptions): Promise<AuditVerification> {
  const { audit } = options;
  const pageSize = options.pageSize ?? 1000;
  const problems: AuditProblem[] = [];
  const head = await audit.head();
  const prunes = checkPrunes(options, problems);
  const baseProblem = unaccountedBase(head, prunes);
  if (baseProblem) problems.push(baseProblem);
  // Heads recorded before a signed prune are accounted for by it; with a base nobody signed, every head still counts.
  const anchors = dedupe(options.anchors).filter((anchor) => baseProblem !== undefined || anchor.seq > head.baseSeq);
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
    if (anchor.seq <= head.baseSeq) {
      problems.push({ seq: anchor.seq, kind: 'unaccounted-base', message: `entry #${anchor.seq}, recorded at ${anchor.at}, is gone without a signed prune` });
      continue;
    }
    const stored = seenHashes.get(anchor.seq);
    if (stored !== undefined && stored !== anchor.hash) {
      problems.push({ seq: anchor.seq, kind: 'rewritten', message: `entry #${anchor.seq} is not the one recorded at ${anchor.at}: the chain was rewritten at or before #${anchor.seq}` });
    }
  }

  for (const prune of prunes) {
    if (prune.entrySeq > end) {
      problems.push({ seq: end + 1, kind: 'deleted-tail', message: `the log ends at #${end} but the prune at ${prune.at} was itself recorded as #${prune.entrySeq}: entries #${end + 1}..#${prune.entrySeq} were deleted` });
    }
  }

  problems.sort((a, b) => a.seq - b.seq);
  const unique = problems.filter((problem, index) => index === 0 || problem.message !== problems[index - 1]?.message);
  return { ok: unique.length === 0, entries, firstSeq, lastSeq, baseSeq: head.baseSeq, anchorsChecked: anchors.length, prunesChecked: prunes.length, firstProblem: unique[0] ?? null, problems: unique };
}

/** The prune records whose signature holds; a forged one, or one that removed entries younger than retention, is a problem. */
function checkPrunes(options: VerifyOptions, problems: AuditProblem[]): AuditPruneRecord[] {
  const minRetentionDays = Math.max(AUDIT_MIN_RETENTION_DAYS, options.minRetentionDays ?? AUDIT_MIN_RETENTION_DAYS);
  const seen = new Set<string>();
  const valid: AuditPruneRecord[] = [];
  for (const prune of options.prunes) {
    const key = `${prune.baseSeq}:${prune.baseHash}:${prune.signature}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!verifySignature(options.publicKeyPem, pruneStatement(prune), prune.signature)) {
      problems.push({ seq: prune.baseSeq, kind: 'bad-prune', message: `the prune up to #${prune.baseSeq} dated ${prune.at} is not signed by this cloud's key (key id ${prune.keyId}): it was forged or the key changed` });
      continue;
    }
    if (prunedTooEarly(prune, minRetentionDays)) {
      problems.push({ seq: prune.baseSeq, kind: 'early-prune', message: `the prune at ${prune.at} removed entries up to #${prune.baseSeq} written at ${prune.lastRemovedAt}, younger than the ${minRetentionDays}-day retention` });
    }
    valid.push(prune);
  }
  return valid;
}

/** A base other than the chain's start that no signed prune puts there: the oldest entries were deleted. */
function unaccountedBase(head: { baseSeq: number; baseHash: string }, prunes: readonly AuditPruneRecord[]): AuditProblem | undefined {
  if (head.baseSeq === 0 && head.baseHash === GENESIS_HASH) return undefined;
  if (prunes.some((prune) => prune.baseSeq === head.baseSeq && prune.baseHash === head.baseHash)) return undefined;
  return {
    seq: 1,
    kind: 'unaccounted-base',
    message: `the log starts after #${head.baseSeq}, but no prune signed by this cloud removed entries #1..#${head.baseSeq}: they were deleted and the base moved past them`,
  };
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

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AvcareError } from '../../protocol/index.js';
import { auditRecords } from '../audit/audit-anchors.js';
import { AuditExportWriter, exportAudit, type AuditExportFormat } from '../audit/audit-export.js';
import { AuditLog, type AuditEntry } from '../audit/audit-log.js';
import { AUDIT_MIN_RETENTION_DAYS } from '../audit/audit-prune.js';
import { verifyAuditLog, type AuditVerification } from '../audit/audit-verify.js';
import { CloudSigningKey } from '../identity/signing-key.js';
import { ACCEPTED_STORE_SPECS } from '../store/store-spec.js';
import type { Store } from '../store/store.js';
import { callApi, type ApiFlags } from './cli-session.js';

interface StoreFlags {
  data: string;
  db?: string;
}

const storeOptions = (command: Command): Command =>
  command
    .option('--data <dir>', 'the cloud\'s data folder (default ./avcare-data)', './avcare-data')
    .option('--db <spec>', `the cloud's database: ${ACCEPTED_STORE_SPECS} (default sqlite:<data>/avcare.db)`);

/**
 * Opens the cloud's database as it is: verifying must not change what it verifies (no migration),
 * and a folder without a database is said so, with nothing created in it.
 */
async function openAuditStore(flags: StoreFlags): Promise<Store> {
  // The database drivers only when the command reads the database itself (not `export --url`).
  const { openStore } = await import('../store/open-store.js');
  const dataDir = resolve(flags.data);
  const store = await openStore(flags.db ?? `sqlite:${join(dataDir, 'avcare.db')}`, { dataDir, existing: true });
  try {
    await store.database.query('SELECT head_seq FROM audit_chain WHERE id = 1');
  } catch (error) {
    await store.close();
    throw new AvcareError('STORE_UNAVAILABLE', `this database has no audit log (was avcare-cloud start ever run on it?): ${(error as Error).message}`, {}, { cause: error });
  }
  return store;
}

/**
 * `audit verify|export`, run on the cloud's machine against its database: verification reads the
 * database and the anchors file directly (and the public key from the key file), so it does not
 * trust a running server, which may be the thing that was tampered with.
 */
export function auditCommand(): Command {
  const command = new Command('audit').description('the tamper-evident audit log: verify the chain, export it');

  storeOptions(command.command('verify'))
    .description('check every entry\'s hash and link and every recorded head; exit 1 at the first broken link')
    .option('--signing-key <file>', "the cloud's key (default <data>/signing-key.pem): its public half checks the recorded heads")
    .option('--anchor-file <file>', 'recorded heads and prunes besides the database (default <data>/audit-anchors.jsonl)')
    .option('--audit-retention-days <n>', `the retention the cloud runs with: a prune of younger entries is reported (default and least ${AUDIT_MIN_RETENTION_DAYS})`)
    .option('--json', 'print the whole report as JSON')
    .action(async (flags: StoreFlags & { signingKey?: string; anchorFile?: string; auditRetentionDays?: string; json?: boolean }) => {
      const dataDir = resolve(flags.data);
      const retentionDays = flags.auditRetentionDays === undefined ? AUDIT_MIN_RETENTION_DAYS : Number(flags.auditRetentionDays);
      if (!Number.isInteger(retentionDays) || retentionDays < AUDIT_MIN_RETENTION_DAYS) {
        throw new AvcareError('INVALID_ARGUMENT', `--audit-retention-days ${flags.auditRetentionDays ?? ''} must be a whole number of days, at least ${AUDIT_MIN_RETENTION_DAYS}`);
      }
      const store = await openAuditStore(flags);
      try {
        const publicKeyPem = await publicKeyFor(store, flags.signingKey ?? join(dataDir, 'signing-key.pem'));
        const records = await auditRecords(store.database, flags.anchorFile ?? join(dataDir, 'audit-anchors.jsonl'));
        const report = await verifyAuditLog({ audit: new AuditLog(store.database), anchors: records.anchors, prunes: records.prunes, minRetentionDays: retentionDays, publicKeyPem });
        const problems = records.fileProblems;
        process.stdout.write(flags.json ? `${JSON.stringify({ ...report, anchorFileProblems: problems }, null, 2)}\n` : describe(report, problems));
        if (!report.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });

  storeOptions(command.command('export'))
    .description("write the log to standard output: from the cloud's database on its machine, or with --url (or --api) through the API as the signed-in person (a school admin gets their school's entries)")
    .addOption(new Option('--format <format>', 'json (an array of entries) or csv').choices(['json', 'csv']).default('json'))
    .option('--since <time>', 'only entries at or after this time (ISO 8601, e.g. 2026-09-01 or 2026-09-01T08:00:00+08:00)')
    .option('--url <url>', 'read through the API of this cloud, as the person signed in to it (avcare-cloud login)')
    .option('--api', 'read through the API of the cloud you signed in to')
    .option('--ca <file>', 'CA certificate (PEM) to verify an https cloud')
    .action(async (flags: StoreFlags & ApiFlags & { format: AuditExportFormat; since?: string; api?: boolean }) => {
      const since = flags.since === undefined ? undefined : new Date(flags.since);
      if (since !== undefined && Number.isNaN(since.getTime())) throw new AvcareError('INVALID_ARGUMENT', `--since ${flags.since} is not a date or time (ISO 8601, e.g. 2026-09-01)`);
      if (flags.url !== undefined || flags.api === true) {
        await exportThroughApi(flags, flags.format, since);
        return;
      }
      const store = await openAuditStore(flags);
      try {
        await exportAudit(new AuditLog(store.database), process.stdout, { format: flags.format, ...(since === undefined ? {} : { since }) });
      } finally {
        await store.close();
      }
    });

  return command;
}

/** Pages through GET /api/audit as the signed-in person (the cloud shows each reader their scope) into the same JSON or CSV. */
async function exportThroughApi(flags: ApiFlags, format: AuditExportFormat, since: Date | undefined): Promise<void> {
  const writer = new AuditExportWriter(process.stdout, format);
  let after: number | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: '5000' });
    if (since !== undefined) query.set('since', since.toISOString());
    if (after !== undefined) query.set('after', String(after));
    const page = await callApi<{ entries: AuditEntry[]; next: number | null }>(flags, 'GET', `/api/audit?${query.toString()}`);
    for (const entry of page.entries) writer.write(entry);
    if (page.next === null) break;
    after = page.next;
  }
  writer.end();
}

/** The key file is the authority; the database's copy is used only when the file is not here (and said so). */
async function publicKeyFor(store: Store, keyFile: string): Promise<string> {
  try {
    return CloudSigningKey.fromPem(readFileSync(keyFile, 'utf8'), keyFile).publicKeyPem;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const [row] = await store.database.query<{ value: string }>("SELECT value FROM cloud_settings WHERE name = 'signing_public_key'");
  if (!row) throw new AvcareError('CONFIG_UNREADABLE', `no signing key at ${keyFile} and none recorded in the database: give --signing-key`);
  process.stderr.write(`note: ${keyFile} is not here; the recorded heads are checked against the public key stored in the database\n`);
  return row.value;
}

function describe(report: AuditVerification, fileProblems: readonly string[]): string {
  const range = report.entries === 0 ? 'no entries' : `${report.entries} entries (#${report.firstSeq ?? '?'}..#${report.lastSeq ?? '?'})`;
  const lines = [`${range}${report.baseSeq > 0 ? `, after #${report.baseSeq} removed by retention` : ''}; ${report.anchorsChecked} recorded heads and ${report.prunesChecked} signed prunes checked`];
  if (report.ok) lines.push('the audit log is intact');
  else {
    lines.push(`BROKEN: ${report.firstProblem?.message ?? 'see --json'}`);
    if (report.problems.length > 1) lines.push(`(${report.problems.length - 1} more problem(s): --json lists them all)`);
  }
  for (const problem of fileProblems) lines.push(`warning: ${problem}`);
  return `${lines.join('\n')}\n`;
}

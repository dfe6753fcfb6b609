import { toAuditEntry, type AuditEntry, type AuditLog } from './audit-log.js';

export type AuditExportFormat = 'json' | 'csv';

const CSV_COLUMNS = ['seq', 'at', 'actor', 'action', 'target', 'outcome', 'source', 'schoolId', 'detail', 'prevHash', 'hash'] as const;

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab/CR) as a formula: prefix it with
 * a quote so a device name or a user name cannot become one (OWASP "CSV injection").
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(entry: AuditEntry): string {
  const values: Record<(typeof CSV_COLUMNS)[number], string | number | null> = { ...entry, detail: JSON.stringify(entry.detail) };
  return CSV_COLUMNS.map((column) => csvCell(values[column])).join(',');
}

/** Writes entries one by one as JSON (one array) or CSV (with a header row), never holding them all. */
export class AuditExportWriter {
  private count = 0;

  constructor(
    private readonly out: { write(chunk: string): unknown },
    private readonly format: AuditExportFormat,
  ) {
    out.write(format === 'json' ? '[' : `${CSV_COLUMNS.join(',')}\n`);
  }

  get written(): number {
    return this.count;
  }

  write(entry: AuditEntry): void {
    this.out.write(this.format === 'json' ? `${this.count === 0 ? '\n' : ',\n'}${JSON.stringify(entry)}` : `${csvRow(entry)}\n`);
    this.count += 1;
  }

  end(): number {
    if (this.format === 'json') this.out.write(this.count === 0 ? ']\n' : '\n]\n');
    return this.count;
  }
}

/**
 * Writes the log (from `since` on) in pages, so a year of entries never sits in memory at once:
 * JSON as one array of entries, CSV with a header row. Resolves with the number of entries.
 */
export async function exportAudit(audit: AuditLog, out: { write(chunk: string): unknown }, options: { format: AuditExportFormat; since?: Date; pageSize?: number }): Promise<number> {
  const pageSize = options.pageSize ?? 1000;
  // Entries are appended in time order, so everything from the first one since `since` is wanted.
  const first = options.since === undefined ? 1 : await audit.firstSeqSince(options.since);
  let afterSeq = first === undefined ? Number.MAX_SAFE_INTEGER : first - 1;
  const writer = new AuditExportWriter(out, options.format);
  for (;;) {
    const rows = await audit.rowsAfter(afterSeq, pageSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      afterSeq = Number(row.seq);
      writer.write(toAuditEntry(row));
    }
  }
  return writer.end();
}

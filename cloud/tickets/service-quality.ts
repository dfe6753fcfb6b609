import { csvCell } from '../audit/audit-export.js';
import type { Dialect, SqlParam } from '../store/dialect.js';

import { QUALITY_GROUPS, type QualityGroup, type QualityReport, type QualityRow, type RepeatFault } from '../../protocol/views/ticket-view.js';

export { QUALITY_GROUPS, type QualityGroup, type QualityReport, type QualityRow, type RepeatFault };

const GROUP_COLUMN: Record<QualityGroup, string> = { category: 'category', severity: 'severity', school: 'school_id', region: 'region_id', team: 'team_id' };

interface AggregateRow {
  grp: string | null;
  opened: number | string;
  resolved: number | string;
  mean_first_response: number | string | null;
  mean_resolve: number | string | null;
  mean_on_site: number | string | null;
  fr_met: number | string | null;
  fr_done: number | string;
  res_met: number | string | null;
  res_done: number | string;
  os_met: number | string | null;
  os_done: number | string;
  by_agent: number | string;
  by_remote: number | string;
  by_on_site: number | string;
  ratings: number | string;
  mean_rating: number | string | null;
}

/** The aggregate, the same SQL on SQLite and PostgreSQL (counts arrive as text from pg's BIGINT). */
const AGGREGATES = `COUNT(*) AS opened,
  SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS resolved,
  AVG(CASE WHEN first_response_at IS NOT NULL THEN first_response_at - opened_at END) AS mean_first_response,
  AVG(CASE WHEN resolved_at IS NOT NULL THEN resolved_at - opened_at END) AS mean_resolve,
  AVG(CASE WHEN on_site_arrived_at IS NOT NULL THEN on_site_arrived_at - on_site_requested_at END) AS mean_on_site,
  SUM(sla_first_response_met) AS fr_met, COUNT(sla_first_response_met) AS fr_done,
  SUM(sla_resolution_met) AS res_met, COUNT(sla_resolution_met) AS res_done,
  SUM(sla_on_site_met) AS os_met, COUNT(sla_on_site_met) AS os_done,
  SUM(CASE WHEN resolved_via = 'agent' THEN 1 ELSE 0 END) AS by_agent,
  SUM(CASE WHEN resolved_via = 'remote' THEN 1 ELSE 0 END) AS by_remote,
  SUM(CASE WHEN resolved_via = 'on-site' THEN 1 ELSE 0 END) AS by_on_site,
  COUNT(rating_score) AS ratings, AVG(rating_score) AS mean_rating`;

function share(part: number | string | null, whole: number | string): number | null {
  const total = Number(whole);
  return total === 0 ? null : Math.round((Number(part ?? 0) / total) * 1000) / 10;
}

function mean(value: number | string | null): number | null {
  return value === null ? null : Math.round(Number(value));
}

function toRow(row: AggregateRow): QualityRow {
  return {
    group: row.grp,
    opened: Number(row.opened),
    resolved: Number(row.resolved ?? 0),
    meanFirstResponseMs: mean(row.mean_first_response),
    meanResolveMs: mean(row.mean_resolve),
    meanOnSiteMs: mean(row.mean_on_site),
    firstResponseAttainment: share(row.fr_met, row.fr_done),
    resolutionAttainment: share(row.res_met, row.res_done),
    onSiteAttainment: share(row.os_met, row.os_done),
    resolvedByAgent: Number(row.by_agent ?? 0),
    resolvedRemotely: Number(row.by_remote ?? 0),
    resolvedOnSite: Number(row.by_on_site ?? 0),
    ratings: Number(row.ratings),
    meanRating: row.mean_rating === null ? null : Math.round(Number(row.mean_rating) * 100) / 100,
  };
}

/**
 * The service-quality report over the tickets opened in [from, to): per group and in total, how
 * fast the team answered, resolved and arrived, how often each SLA promise was kept, who fixed
 * it, what the schools thought, and the rooms where the same fault keeps coming back.
 */
export async function serviceQuality(db: Dialect, options: { from: Date; to: Date; groupBy: QualityGroup; schoolIds?: readonly string[] }): Promise<QualityReport> {
  const params: SqlParam[] = [options.from.getTime(), options.to.getTime()];
  let where = 'opened_at >= $1 AND opened_at < $2';
  if (options.schoolIds !== undefined) {
    params.push(db.textList(options.schoolIds));
    where += ` AND ${db.inTextList('school_id', params.length)}`;
  }
  const column = GROUP_COLUMN[options.groupBy];
  const [total] = await db.query<AggregateRow>(`SELECT NULL AS grp, ${AGGREGATES} FROM tickets WHERE ${where}`, params);
  const groups = await db.query<AggregateRow>(`SELECT ${column} AS grp, ${AGGREGATES} FROM tickets WHERE ${where} GROUP BY ${column} ORDER BY opened DESC, ${db.byCodePoint(column)}`, params);
  const repeats = await db.query<{ school_id: string; room_id: string; code: string; tickets: number | string }>(
    `SELECT school_id, room_id, code, COUNT(*) AS tickets FROM tickets WHERE ${where} AND code <> 'TEACHER_REPORT'
     GROUP BY school_id, room_id, code HAVING COUNT(*) > 1 ORDER BY tickets DESC, ${db.byCodePoint('school_id')}, ${db.byCodePoint('room_id')}, ${db.byCodePoint('code')} LIMIT 20`,
    params,
  );
  return {
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    groupBy: options.groupBy,
    total: toRow(total ?? ({ grp: null, opened: 0, resolved: 0, fr_done: 0, res_done: 0, os_done: 0, ratings: 0, by_agent: 0, by_remote: 0, by_on_site: 0 } as AggregateRow)),
    groups: groups.map(toRow),
    repeatFaults: repeats.map((row) => ({ schoolId: row.school_id, roomId: row.room_id, code: row.code, tickets: Number(row.tickets) })),
  };
}

const CSV_HEADER = ['group', 'opened', 'resolved', 'meanFirstResponseMin', 'meanResolveMin', 'meanOnSiteMin', 'firstResponseAttainmentPercent', 'resolutionAttainmentPercent', 'onSiteAttainmentPercent', 'resolvedByAgent', 'resolvedRemotely', 'resolvedOnSite', 'ratings', 'meanRating'];

/** The report as CSV for a spreadsheet: one line per group and a total line; group names quoted against formulas. */
export function qualityCsv(report: QualityReport): string {
  const minutes = (ms: number | null): string => (ms === null ? '' : (ms / 60_000).toFixed(1));
  const line = (row: QualityRow, name: string): string =>
    [
      csvCell(name),
      row.opened,
      row.resolved,
      minutes(row.meanFirstResponseMs),
      minutes(row.meanResolveMs),
      minutes(row.meanOnSiteMs),
      row.firstResponseAttainment ?? '',
      row.resolutionAttainment ?? '',
      row.onSiteAttainment ?? '',
      row.resolvedByAgent,
      row.resolvedRemotely,
      row.resolvedOnSite,
      row.ratings,
      row.meanRating ?? '',
    ].join(',');
  return [CSV_HEADER.join(','), ...report.groups.map((row) => line(row, row.group ?? '(none)')), line(report.total, 'total')].join('\n') + '\n';
}

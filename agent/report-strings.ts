import { out } from './i18n/i18n.js';
import { printable } from './render.js';
import type { ReportOutcome } from './report-outcome.js';

/**
 * Everything `avcare-agent report` says to the person who types it: teachers in Chinese schools
 * read these, so they come from the message catalogs (agent/i18n), in the language chosen.
 */
export const REPORT_STRINGS = {
  textEmpty: () => out().t('report.textEmpty'),
  textTooLong: (chars: number, max: number) => out().t('report.textTooLong', { chars, max }),
  reporterInvalid: (max: number) => out().t('report.reporterInvalid', { max }),
  deviceInvalid: (max: number) => out().t('report.deviceInvalid', { max }),
  deviceNotFound: (deviceId: string) => out().t('report.deviceNotFound', { device: deviceId }),
  probing: () => out().t('report.probing'),
  sent: (reportId: string) => out().t('report.sent', { id: reportId }),
  queuedForDaemon: (reportId: string) => out().t('report.queuedForDaemon', { id: reportId }),
  queuedForNextRun: (reportId: string) => out().t('report.queuedForNextRun', { id: reportId }),
  notConnected: (lookedIn: readonly string[]) => out().t('report.notConnected', { where: lookedIn.length > 0 ? out().t('report.notConnectedWhere', { dirs: lookedIn.join(', ') }) : '' }),
  notConnectedHint: () => out().t('report.notConnectedHint'),
  brokerDetail: (error: string) => out().t('report.brokerDetail', { error }),
  keepId: () => out().t('report.keepId'),
} as const;

/** What a person reads after `avcare-agent report`. */
export function describeReportOutcome(outcome: ReportOutcome): string {
  const lines: string[] = [];
  if (outcome.deviceId !== undefined && outcome.deviceFound === false) lines.push(REPORT_STRINGS.deviceNotFound(printable(outcome.deviceId)));
  if (outcome.status === 'sent') lines.push(REPORT_STRINGS.sent(outcome.reportId));
  else if (outcome.delivery === 'daemon') lines.push(REPORT_STRINGS.queuedForDaemon(outcome.reportId));
  else lines.push(REPORT_STRINGS.queuedForNextRun(outcome.reportId));
  if (outcome.brokerError !== undefined) lines.push(REPORT_STRINGS.brokerDetail(printable(outcome.brokerError)));
  lines.push(REPORT_STRINGS.keepId());
  return lines.join('\n');
}

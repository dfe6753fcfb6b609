import { printable } from './render.js';
import type { ReportOutcome } from './report-outcome.js';

/**
 * Everything `avcare-agent report` says to the person who types it, in one place: teachers in
 * Chinese schools read these, and a translation replaces this file's values, not code elsewhere.
 */
export const REPORT_STRINGS = {
  textEmpty: () => 'The report is empty: say in a few words what is wrong, in quotes.',
  textTooLong: (chars: number, max: number) => `The report is ${chars} characters long; at most ${max} fit. Please shorten it.`,
  reporterInvalid: (max: number) => `--by must be a name of 1 to ${max} characters.`,
  deviceInvalid: (max: number) => `--device must be a device id of 1 to ${max} characters, as \`avcare-agent probe --json\` shows it.`,
  deviceNotFound: (deviceId: string) => `Note: no device "${deviceId}" was found just now; the report names it anyway.`,
  probing: () => 'Collecting the room\'s devices and the agent\'s recent log for the engineer...',
  sent: (reportId: string) => `Thank you. Your report was sent to the service team.\nReport id: ${reportId}`,
  queuedForDaemon: (reportId: string) =>
    `Thank you. Your report is saved on this PC and the avcare agent running here will send it as soon as it reaches the service team.\nReport id: ${reportId}`,
  queuedForNextRun: (reportId: string) =>
    `Thank you. The service team cannot be reached right now, so your report is saved on this PC; it goes out automatically when the avcare agent runs and the network is back.\nReport id: ${reportId}`,
  queuedNoBroker: (reportId: string) =>
    `Your report is saved on this PC, but this PC has no service connection configured (broker.url), so it cannot be sent yet. Please tell your IT teacher.\nReport id: ${reportId}`,
  brokerDetail: (error: string) => `(for your IT teacher: ${error})`,
  keepId: () => 'Keep the report id if you call the service team about it.',
} as const;

/** What a person reads after `avcare-agent report`. */
export function describeReportOutcome(outcome: ReportOutcome): string {
  const lines: string[] = [];
  if (outcome.deviceId !== undefined && outcome.deviceFound === false) lines.push(REPORT_STRINGS.deviceNotFound(printable(outcome.deviceId)));
  if (outcome.status === 'sent') lines.push(REPORT_STRINGS.sent(outcome.reportId));
  else if (outcome.delivery === 'no-broker') lines.push(REPORT_STRINGS.queuedNoBroker(outcome.reportId));
  else if (outcome.delivery === 'daemon') lines.push(REPORT_STRINGS.queuedForDaemon(outcome.reportId));
  else lines.push(REPORT_STRINGS.queuedForNextRun(outcome.reportId));
  if (outcome.brokerError !== undefined) lines.push(REPORT_STRINGS.brokerDetail(printable(outcome.brokerError)));
  lines.push(REPORT_STRINGS.keepId());
  return lines.join('\n');
}

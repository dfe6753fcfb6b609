import { FAULT_CODES, selfHelpFor, type Device, type SourceStatus, type SystemSnapshot } from '../protocol/index.js';
import type { FaultCondition } from './faults/fault-condition.js';
import type { SkippedLine } from './probes/lsusb-lines.js';
import type { ActiveFault } from './faults/fault-tracker.js';

/**
 * Device strings are untrusted: a USB product string or a projector name could carry terminal
 * escape sequences. Every control character is shown as an escape instead of being executed.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function describeConnection(device: Device): string {
  const c = device.connection;
  switch (c.type) {
    case 'usb':
      return `usb ${c.portPath}`;
    case 'serial':
      return `serial ${c.path}${c.protocol === 'none' ? '' : ` (${c.protocol} ${c.baudRate})`}`;
    case 'network':
      return `${c.protocol} ${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}${c.framing ? ` ${c.framing}` : ''}`;
    case 'os':
      return c.path;
  }
}

function usbIds(device: Device): string {
  return device.usb ? `${device.usb.vendorId.toString(16).padStart(4, '0')}:${device.usb.productId.toString(16).padStart(4, '0')}` : '';
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function renderDevices(devices: readonly Device[]): string {
  if (devices.length === 0) return 'No devices found.';
  const rows = [['KIND', 'NAME', 'ID', 'CONNECTED', 'STATUS']];
  for (const device of devices) {
    const status = device.error ? `${device.status}: ${device.error.code}` : `${device.status}${pjlinkNotes(device)}${viscaNotes(device)}`;
    rows.push([device.kind, printable(device.name).slice(0, 48), usbIds(device), printable(describeConnection(device)), status]);
  }
  return table(rows);
}

/** What a projector did not say: commands it does not do, answered oddly, or not in time. */
function pjlinkNotes(device: Device): string {
  const info = device.pjlink;
  if (!info) return '';
  const notes = [
    ...(info.unsupported?.length ? [`not supported: ${info.unsupported.join(', ')}`] : []),
    ...(info.badReplies?.length ? [`odd replies: ${info.badReplies.map((bad) => bad.command).join(', ')}`] : []),
    ...(info.unanswered?.length ? [`no time for: ${info.unanswered.join(', ')}`] : []),
  ];
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`;
}

/** How a network camera was reached: a framing found by "auto" is worth pinning, resent datagrams hint at a lossy network. */
function viscaNotes(device: Device): string {
  const info = device.visca;
  if (!info) return '';
  const framing = device.connection.type === 'network' ? device.connection.framing : undefined;
  const notes = [
    ...(info.framingDetected && framing ? [`framing found: ${framing}`] : []),
    ...(info.retransmitted ? [`${info.retransmitted} datagram(s) sent again`] : []),
  ];
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`;
}

export function renderSources(sources: readonly SourceStatus[]): string {
  return sources
    .map((s) => `${s.source.padEnd(8)} ${s.state}${s.reason ? `: ${printable(s.reason)}` : ''}${s.errorCode ? ` [${s.errorCode}]` : ''}`)
    .join('\n');
}

export function renderFaults(faults: readonly (FaultCondition | ActiveFault)[]): string {
  if (faults.length === 0) return 'No faults.';
  const rows = [['SEVERITY', 'CATEGORY', 'CODE', 'MESSAGE']];
  for (const fault of faults) {
    const condition = 'condition' in fault ? fault.condition : fault;
    const info = FAULT_CODES[condition.code];
    rows.push([info.severity, info.category, condition.code, printable(condition.message)]);
  }
  return `${table(rows)}${renderSelfHelp(faults.map((fault) => ('condition' in fault ? fault.condition.code : fault.code)))}`;
}

/** What the IT teacher can try now, once per fault code (the knowledge base's fixed part). */
function renderSelfHelp(codes: readonly string[]): string {
  const lines: string[] = [];
  for (const code of new Set(codes)) {
    const steps = selfHelpFor(code);
    if (steps.length === 0) continue;
    lines.push('', `What you can try for ${code}:`, ...steps.map((step, index) => `  ${index + 1}. ${step}`));
  }
  return lines.length === 0 ? '' : `\n${lines.join('\n').slice(1)}`;
}

const GIB = 1024 ** 3;

/** One line about the PC itself: what an engineer asks first on the phone. */
export function renderSystem(system: SystemSnapshot): string {
  const disks = system.disks.map((disk) => `${printable(disk.mount)} ${disk.usePercent.toFixed(0)}% used`).join(', ');
  const parts = [
    `PC ${printable(system.os.hostname)}: ${printable(system.os.distro)} ${printable(system.os.release)} ${system.os.arch}`,
    `${system.cpu.cores} cores at ${system.cpu.loadPercent.toFixed(0)}% load`,
    `${(system.memory.availableBytes / GIB).toFixed(1)} of ${(system.memory.totalBytes / GIB).toFixed(1)} GiB memory free`,
  ];
  if (disks) parts.push(`disk ${disks}`);
  if (system.cpuTemperatureC !== null) parts.push(`CPU ${system.cpuTemperatureC.toFixed(0)}°C`);
  return parts.join(', ');
}

const MAX_SKIPPED_SHOWN = 20;

/** Which lines of a replayed dump were not used: a person can check nothing they needed was lost. */
export function renderSkipped(file: string, skipped: readonly SkippedLine[]): string {
  const shown = skipped.slice(0, MAX_SKIPPED_SHOWN).map((entry) => `  line ${entry.line}: ${printable(entry.text.trim())} (${entry.reason})`);
  const more = skipped.length > MAX_SKIPPED_SHOWN ? [`  ... and ${skipped.length - MAX_SKIPPED_SHOWN} more`] : [];
  return [`Skipped ${skipped.length} line(s) of ${printable(file)} that are not lsusb -v output:`, ...shown, ...more].join('\n');
}

import { FAULT_CODES, type Device, type SourceStatus, type SystemSnapshot } from '../protocol/index.js';
import { out, type MessageKey, type ParamValue } from './i18n/i18n.js';
import { displayWidth, padDisplay } from './text-width.js';
import type { FaultCondition } from './faults/fault-condition.js';
import type { SkippedLine } from './probes/lsusb-lines.js';
import type { PastedConclusion } from './pasted/pasted-linux.js';
import type { ActiveFault } from './faults/fault-tracker.js';

/**
 * Device strings and what the cloud relays (a session's reason, an engineer's name) are untrusted:
 * a USB product string or a projector name could carry terminal escape sequences, a reason could
 * carry bidirectional overrides that make it read as something else, or line and paragraph
 * separators that forge a line of our own output. Every control character (C0, DEL, C1), format
 * character (bidi controls, zero-width marks) and line or paragraph separator is shown as an
 * escape instead of acting.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
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

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => displayWidth(row[column] ?? '')))) ?? [];
  return rows.map((row) => row.map((cell, column) => padDisplay(cell, widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function renderDevices(devices: readonly Device[]): string {
  const { t } = out();
  if (devices.length === 0) return t('probe.noDevices');
  const rows = [[t('table.kind'), t('table.name'), t('table.id'), t('table.connected'), t('table.status')]];
  for (const device of devices) {
    const status = device.error ? `${t(`status.${device.status}`)}: ${device.error.code}` : `${t(`status.${device.status}`)}${pjlinkNotes(device)}${viscaNotes(device)}${touchNotes(device)}${vrNotes(device)}`;
    rows.push([t(`kind.${device.kind}`), printable(device.name).slice(0, 48), usbIds(device), printable(describeConnection(device)), status]);
  }
  return table(rows);
}

/** What a projector did not say: commands it does not do, answered oddly, or not in time. */
function pjlinkNotes(device: Device): string {
  const info = device.pjlink;
  if (!info) return '';
  const { t } = out();
  const notes = [
    ...(info.unsupported?.length ? [t('probe.notSupported', { items: info.unsupported.join(', ') })] : []),
    ...(info.badReplies?.length ? [t('probe.oddReplies', { items: info.badReplies.map((bad) => bad.command).join(', ') })] : []),
    ...(info.unanswered?.length ? [t('probe.noTimeFor', { items: info.unanswered.join(', ') })] : []),
  ];
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`;
}

/** What the OS made of a touch panel: its class and contacts, its driver, its input devices. */
function touchNotes(device: Device): string {
  const touch = device.touch;
  if (!touch) return '';
  const { t } = out();
  const kind = t(`probe.touchClasses.${touch.touchClass}`);
  const notes = [
    touch.maxContacts === undefined ? t('probe.touchClass', { class: kind }) : t('probe.touchContacts', { class: kind, count: touch.maxContacts }),
    touch.driver === null ? t('probe.touchNoDriver') : t('probe.touchDriver', { driver: printable(touch.driver) }),
    touch.inputDevices.length === 0 ? t('probe.touchNoInputs') : t('probe.touchInputs', { inputs: touch.inputDevices.join(', ') }),
  ];
  const activity = touch.activity;
  if (activity) notes.push(activity.lastTouchAt === null ? t('probe.touchesNone') : t('probe.touches', { count: activity.touches, last: activity.lastTouchAt.slice(11, 19) }));
  return ` (${notes.join('; ')})`;
}

/** A headset at a glance: battery, controllers, Wi-Fi, storage and the class's apps. */
function vrNotes(device: Device): string {
  const vr = device.vr;
  if (!vr?.authorized) return '';
  const { t } = out();
  const battery = vr.battery;
  const notes = [
    ...(battery ? [t(battery.charging === 'charging' ? 'probe.vrCharging' : 'probe.vrBattery', { level: battery.level })] : []),
    ...vr.controllers.map((c) => t('probe.vrController', { side: c.side === 'left' ? 'L' : c.side === 'right' ? 'R' : '?', state: c.connected === false ? t('probe.vrControllerOff') : c.batteryPercent !== undefined ? `${c.batteryPercent}%` : '-' })),
    ...(vr.wifi ? [t('probe.vrWifi', { ssid: printable(vr.wifi.ssid), rssi: vr.wifi.rssiDbm ?? '?' })] : []),
    ...(vr.storage ? [t('probe.vrFree', { free: (vr.storage.freeBytes / 1024 ** 3).toFixed(0) })] : []),
    ...vr.apps.map((app) => t('probe.vrApp', { app: app.packageName, version: app.installed ? (app.versionName ?? '?') : '-' })),
  ];
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`;
}

/** How a network camera was reached: a framing found by "auto" is worth pinning, resent datagrams hint at a lossy network. */
function viscaNotes(device: Device): string {
  const info = device.visca;
  if (!info) return '';
  const { t } = out();
  const framing = device.connection.type === 'network' ? device.connection.framing : undefined;
  const notes = [
    ...(info.framingDetected && framing ? [t('probe.framingFound', { framing })] : []),
    ...(info.retransmitted ? [t('probe.resent', { count: info.retransmitted })] : []),
  ];
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`;
}

export function renderSources(sources: readonly SourceStatus[]): string {
  const { t } = out();
  // What the agent says itself comes in the reader's language (reasonKey); a library's own words stay as they are, inside it.
  return sources
    .map((s) => {
      const reason = s.reasonKey ? sourceReason(s.reasonKey, s.reasonParams ?? {}) : s.reason;
      return `${s.source.padEnd(8)} ${t(`sourceState.${s.state}`)}${reason ? `: ${printable(reason)}` : ''}${s.errorCode ? ` [${s.errorCode}]` : ''}`;
    })
    .join('\n');
}

/** A reason kept as a key: translated when the catalog has it (an older agent's key may not be). */
function sourceReason(key: string, params: Readonly<Record<string, ParamValue>>): string | undefined {
  const text = out().stored(key, params);
  return text === key ? undefined : text;
}

/**
 * A device error's reason in the reader's language: the agent's own sentence for its code (the
 * English detail, with addresses and timings, stays in JSON and the cloud), or the detail itself.
 */
export function deviceErrorText(error: { code: string; message: string }): string {
  const key = `deviceError.${error.code}` as MessageKey;
  const text = out().stored(key, {});
  return printable(text === key || out().locale === 'en' ? error.message : text);
}

/** A fault's message in the reader's language, from its key and parameters (device names made printable). */
export function faultText(condition: Pick<FaultCondition, 'messageKey' | 'params'>): string {
  const { params } = condition;
  // The reason inside a fault is the device's error: in another language, the agent's own sentence for its code.
  const reasonCode = typeof params['reasonCode'] === 'string' ? params['reasonCode'] : undefined;
  const localised = reasonCode !== undefined && typeof params['reason'] === 'string' ? { ...params, reason: deviceErrorText({ code: reasonCode, message: params['reason'] }) } : params;
  return printable(out().stored(condition.messageKey, localised));
}

export function renderFaults(faults: readonly (FaultCondition | ActiveFault)[]): string {
  const { t } = out();
  if (faults.length === 0) return t('probe.noFaults');
  const rows = [[t('table.severity'), t('table.category'), t('table.code'), t('table.message')]];
  for (const fault of faults) {
    const condition = 'condition' in fault ? fault.condition : fault;
    const info = FAULT_CODES[condition.code];
    rows.push([t(`severity.${info.severity}`), t(`category.${info.category}`), condition.code, faultText(condition)]);
  }
  return `${table(rows)}${renderSelfHelp(faults.map((fault) => ('condition' in fault ? fault.condition.code : fault.code)))}`;
}

/** What the IT teacher can try now, once per fault code (the knowledge base's fixed part). */
function renderSelfHelp(codes: readonly string[]): string {
  const { t, selfHelp } = out();
  const lines: string[] = [];
  for (const code of new Set(codes)) {
    const steps = selfHelp(code);
    if (steps.length === 0) continue;
    lines.push('', t('probe.selfHelp', { code }), ...steps.map((step, index) => `  ${index + 1}. ${step}`));
  }
  return lines.length === 0 ? '' : `\n${lines.join('\n').slice(1)}`;
}

const GIB = 1024 ** 3;

/** One line about the PC itself: what an engineer asks first on the phone. */
export function renderSystem(system: SystemSnapshot): string {
  const { t, locale } = out();
  const disks = system.disks.map((disk) => t('probe.diskUse', { mount: printable(disk.mount), percent: disk.usePercent.toFixed(0) })).join(', ');
  const parts = [
    t('probe.system', {
      host: printable(system.os.hostname),
      os: `${printable(system.os.distro)} ${printable(system.os.release)} ${system.os.arch}`,
      cores: system.cpu.cores,
      load: system.cpu.loadPercent.toFixed(0),
      free: (system.memory.availableBytes / GIB).toFixed(1),
      total: (system.memory.totalBytes / GIB).toFixed(1),
    }),
  ];
  if (disks) parts.push(t('probe.disks', { disks }));
  if (system.cpuTemperatureC !== null) parts.push(t('probe.cpuTemperature', { celsius: system.cpuTemperatureC.toFixed(0) }));
  return parts.join(locale === 'zh-CN' ? '，' : ', ');
}

const MAX_SKIPPED_SHOWN = 20;

/** What each pasted tool showed, in the reader's language: the grounds of the verdict below it. */
export function renderConclusions(conclusions: readonly PastedConclusion[]): string {
  const { t, stored } = out();
  return [t('replay.concluded'), ...conclusions.map((c) => `  ${printable(stored(`replay.tool.${c.key}`, { tool: c.tool, ...c.params }))}`)].join('\n');
}

/** Which lines of a replayed dump were not used: a person can check nothing they needed was lost. */
export function renderSkipped(file: string, skipped: readonly SkippedLine[]): string {
  const { t } = out();
  const reason = (entry: SkippedLine): string => (entry.kind === 'incomplete' ? t('replay.reason.incomplete', { ids: entry.ids ?? '' }) : t(`replay.reason.${entry.kind}`));
  const shown = skipped.slice(0, MAX_SKIPPED_SHOWN).map((entry) => t('replay.line', { line: entry.line, text: printable(entry.text.trim()), reason: reason(entry) }));
  const more = skipped.length > MAX_SKIPPED_SHOWN ? [t('replay.more', { count: skipped.length - MAX_SKIPPED_SHOWN })] : [];
  return [t('replay.skipped', { count: skipped.length, file: printable(file) }), ...shown, ...more].join('\n');
}

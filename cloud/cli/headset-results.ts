/**
 * The VR session actions' answers as an engineer reads them at a terminal. Every string came from
 * a headset (an app's exception text, a Wi-Fi name): each is cleaned before it is shown.
 */
import { deviceSchema, untrustedMultiline, untrustedText } from '../../protocol/index.js';

const safe = (value: unknown, max = 200): string => (typeof value === 'string' ? (untrustedText(value, max) ?? '') : value === null || value === undefined ? '-' : (untrustedText(JSON.stringify(value), max) ?? ''));

/** null when the answer is not the shape the action gives (the caller shows its JSON). */
export function renderHeadsetResult(action: 'vr-status' | 'vr-app-restart' | 'vr-crash-log', record: Record<string, unknown>): string[] | null {
  if (action === 'vr-status') {
    const parsed = deviceSchema.safeParse(record['device']);
    if (!parsed.success || !parsed.data.vr) return null;
    const { vr, name, status } = parsed.data;
    const lines = [`${safe(name, 120)}: ${status}${vr.authorized ? '' : ' (has not allowed this PC: VR_ADB_NOT_AUTHORIZED)'}`];
    if (vr.battery) lines.push(`  battery ${vr.battery.level}% ${vr.battery.charging}${vr.battery.temperatureC !== undefined ? `, ${vr.battery.temperatureC} °C` : ''}, health ${vr.battery.health}`);
    if (vr.thermal) lines.push(`  thermal ${vr.thermal.status}`);
    if (vr.storage) lines.push(`  storage ${(vr.storage.freeBytes / 1024 ** 3).toFixed(1)} GB free (${vr.storage.usePercent}% used)`);
    if (vr.wifi) lines.push(`  Wi-Fi ${safe(vr.wifi.ssid, 64)}${vr.wifi.rssiDbm !== undefined ? ` ${vr.wifi.rssiDbm} dBm` : ''}${vr.wifi.linkMbps !== undefined ? ` ${vr.wifi.linkMbps} Mbps` : ''}`);
    for (const controller of vr.controllers) lines.push(`  ${safe(controller.name, 64)}: ${controller.connected === null ? 'unknown' : controller.connected ? 'connected' : 'not connected'}${controller.batteryPercent !== undefined ? `, ${controller.batteryPercent}%` : ''}`);
    for (const app of vr.apps) {
      lines.push(`  ${app.packageName}: ${app.installed ? `${safe(app.versionName ?? '?', 64)}${app.running === undefined ? '' : app.running ? ', running' : ', not running'}` : 'not installed'}${app.crashes.length > 0 ? `, ${app.crashes.length} recent crash(es)` : ''}`);
      for (const crash of app.crashes.slice(-3)) lines.push(`    ${safe(crash.at, 32)} ${crash.kind}: ${safe(crash.detail, 300)}`);
    }
    if (vr.unreadable?.length) lines.push(`  not read: ${vr.unreadable.map((command) => safe(command, 64)).join(', ')}`);
    return lines;
  }
  if (action === 'vr-app-restart') {
    if (typeof record['running'] !== 'boolean') return null;
    return [`${safe(record['app'])} on ${safe(record['headset'])}: ${record['wasRunning'] === true ? 'was running, ' : ''}stopped and started; ${record['running'] ? 'it runs now' : `it is not running (${safe(record['launch'])})`}`];
  }
  const records = record['records'];
  if (!Array.isArray(records)) return null;
  if (records.length === 0) return [`no crash or "not responding" record of ${safe(record['app'])} on ${safe(record['headset'])}`];
  return records.flatMap((entry: Record<string, unknown>) => [`${safe(entry['at'], 32)} ${safe(entry['kind'], 8)}`, ...(typeof entry['text'] === 'string' ? (untrustedMultiline(entry['text'], 4000) ?? '') : '').split('\n').map((line) => `  ${line}`)]);
}

/**
 * The outputs of the ADB shell commands the headset probe runs, read into facts. Each reader takes
 * the text as the command prints it (or as a support engineer pastes it: indentation lost, CR LF,
 * cut off) and returns what it could read, never throwing: a garbled answer is an empty reading,
 * which the probe reports as the device's error. Formats: AOSP's BatteryService, ThermalManager
 * and `cmd wifi` dumps, toybox df, PackageManager's dump, DropBoxManager entries, logcat's crash
 * lines, and Meta's OVRRemoteService "Paired device" lines.
 */

export interface AdbDeviceLine {
  serial: string;
  /** device, unauthorized, offline, no permissions, ... as adb prints it. */
  state: string;
  usb?: string;
  product?: string;
  model?: string;
  device?: string;
}

/** `adb devices -l`. */
export function readAdbDevices(text: string): AdbDeviceLine[] {
  const devices: AdbDeviceLine[] = [];
  for (const line of lines(text)) {
    const match = /^(\S+)\s+(device|unauthorized|offline|authorizing|connecting|recovery|sideload|bootloader|host|no permissions.*?)(?:\s+(.*))?$/.exec(line);
    if (!match || match[1] === 'List' || match[1] === '*') continue;
    const entry: AdbDeviceLine = { serial: match[1] ?? '', state: (match[2] ?? '').replace(/\s*\(.*$/, '') };
    for (const pair of (match[3] ?? '').matchAll(/(usb|product|model|device):(\S+)/g)) entry[pair[1] as 'usb' | 'product' | 'model' | 'device'] = pair[2] ?? '';
    devices.push(entry);
  }
  return devices;
}

/** `getprop`: "[ro.product.model]: [Quest 3]" lines. */
export function readGetprop(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of lines(text)) {
    const match = /^\[([\w.-]+)\]:\s*\[(.*)\]$/.exec(line);
    if (match) props.set(match[1] ?? '', (match[2] ?? '').slice(0, 256));
  }
  return props;
}

export interface BatteryReading {
  level: number;
  charging: 'charging' | 'discharging' | 'not-charging' | 'full' | 'unknown';
  powered: boolean;
  health: 'good' | 'overheat' | 'dead' | 'over-voltage' | 'failure' | 'cold' | 'unknown';
  temperatureC?: number;
}

const BATTERY_STATUS = ['unknown', 'unknown', 'charging', 'discharging', 'not-charging', 'full'] as const;
const BATTERY_HEALTH = ['unknown', 'unknown', 'good', 'overheat', 'dead', 'over-voltage', 'failure', 'cold'] as const;

/** `dumpsys battery` (BatteryService): null without a level, which every Android prints. */
export function readBattery(text: string): BatteryReading | null {
  const fields = colonFields(text);
  const level = Number(fields.get('level'));
  const scale = Number(fields.get('scale') ?? 100) || 100;
  if (!fields.has('level') || !Number.isFinite(level)) return null;
  const status = Number(fields.get('status'));
  const health = Number(fields.get('health'));
  const tenths = Number(fields.get('temperature'));
  const reading: BatteryReading = {
    level: Math.max(0, Math.min(100, Math.round((level * 100) / scale))),
    charging: BATTERY_STATUS[status] ?? 'unknown',
    powered: ['AC powered', 'USB powered', 'Wireless powered', 'Dock powered'].some((name) => fields.get(name) === 'true'),
    health: BATTERY_HEALTH[health] ?? 'unknown',
  };
  if (fields.has('temperature') && Number.isFinite(tenths)) reading.temperatureC = tenths / 10;
  return reading;
}

export const THERMAL_STATUS = ['none', 'light', 'moderate', 'severe', 'critical', 'emergency', 'shutdown'] as const;
export type ThermalStatus = (typeof THERMAL_STATUS)[number];

/** `dumpsys thermalservice`: the overall status (0-6) and the hottest sensor the HAL reports. */
export function readThermal(text: string): { status: ThermalStatus; hottest?: { name: string; celsius: number } } | null {
  const status = /Thermal Status:\s*(\d)/.exec(text);
  if (!status) return null;
  let hottest: { name: string; celsius: number } | undefined;
  for (const match of text.matchAll(/Temperature\{mValue=(-?[\d.]+), mType=-?\d+, mName=([^,}]+)/g)) {
    const celsius = Number(match[1]);
    if (Number.isFinite(celsius) && (hottest === undefined || celsius > hottest.celsius)) hottest = { name: (match[2] ?? '').trim().slice(0, 64), celsius };
  }
  return { status: THERMAL_STATUS[Number(status[1])] ?? 'none', ...(hottest ? { hottest } : {}) };
}

const UNITS: Record<string, number> = { '': 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** toybox `df` or `df -h` of /data: free bytes and use, or null when /data is not in it. */
export function readDataStorage(text: string): { freeBytes: number; totalBytes: number; usePercent: number } | null {
  const human = /^\S+\s+([\d.]+)([KMGT]?)\s+[\d.]+[KMGT]?\s+([\d.]+)([KMGT]?)\s+(\d+)%\s+\/data$/;
  for (const line of lines(text)) {
    const match = human.exec(line);
    if (!match) continue;
    // Without -h, toybox counts 1K blocks: the same arithmetic with no suffix.
    const size = Number(match[1]) * (UNITS[match[2] ?? ''] ?? 1024);
    const free = Number(match[3]) * (UNITS[match[4] ?? ''] ?? 1024);
    return { totalBytes: Math.round(size), freeBytes: Math.round(free), usePercent: Number(match[5]) };
  }
  return null;
}

/** `cmd wifi status`: the network, signal and link speed of the connection, null when not connected. */
export function readWifi(text: string): { ssid: string; rssiDbm?: number; linkMbps?: number; frequencyMhz?: number } | null {
  const info = /WifiInfo:\s*SSID:\s*"?([^",]*)"?,(.*)$/m.exec(text);
  if (!info || info[1] === '<unknown ssid>') return null;
  const rest = info[2] ?? '';
  const number = (pattern: RegExp): number | undefined => {
    const found = pattern.exec(rest);
    return found ? Number(found[1]) : undefined;
  };
  const reading: { ssid: string; rssiDbm?: number; linkMbps?: number; frequencyMhz?: number } = { ssid: (info[1] ?? '').slice(0, 64) };
  const rssi = number(/RSSI:\s*(-?\d+)/);
  const link = number(/(?:^|,\s*)Link speed:\s*(\d+)Mbps/);
  const frequency = number(/Frequency:\s*(\d+)MHz/);
  if (rssi !== undefined) reading.rssiDbm = rssi;
  if (link !== undefined) reading.linkMbps = link;
  if (frequency !== undefined) reading.frequencyMhz = frequency;
  return reading;
}

/** `dumpsys package PKG`: its version, or null when the package is not installed. */
export function readPackageVersion(text: string, packageName: string): { versionName?: string; versionCode?: number } | null {
  const start = text.indexOf(`Package [${packageName}]`);
  if (start < 0) return null;
  const section = text.slice(start, start + 4000);
  const name = /versionName=(\S+)/.exec(section)?.[1];
  const code = /versionCode=(\d+)/.exec(section)?.[1];
  return { ...(name ? { versionName: name.slice(0, 64) } : {}), ...(code ? { versionCode: Number(code) } : {}) };
}

export interface CrashRecord {
  kind: 'crash' | 'anr';
  packageName: string;
  /** As the record gives it: "2026-12-07 08:12:03" (dropbox) or "12-07 08:12:03.456" (logcat). */
  at: string;
  /** The exception line, or the ANR's subject. */
  detail: string;
}

const MAX_CRASHES = 20;

/**
 * Crashes and "not responding" events of one package from `dumpsys dropbox --print` entries
 * (data_app_crash, data_app_anr) and logcat's AndroidRuntime / ActivityManager lines, newest last,
 * at most 20, each line cut at 300 characters: an enormous log costs nothing more.
 */
export function readCrashes(text: string, packageName: string): CrashRecord[] {
  const found: CrashRecord[] = [];
  const all = lines(text);
  for (let index = 0; index < all.length; index += 1) {
    const line = all[index] ?? '';
    const entry = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) data_app_(crash|anr)\b/.exec(line);
    if (entry) {
      const body = all.slice(index + 1, index + 60);
      const end = body.findIndex((next) => /^={10,}$/.test(next) || /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \w+/.test(next));
      const record = end < 0 ? body : body.slice(0, end);
      if (!record.some((next) => next === `Process: ${packageName}`)) continue;
      const detail = entry[2] === 'anr' ? (record.find((next) => next.startsWith('Subject:'))?.replace(/^Subject:\s*/, '') ?? 'not responding') : (record.find((next) => /^[\w.$]+(Exception|Error)\b/.test(next)) ?? 'crashed');
      found.push({ kind: entry[2] === 'anr' ? 'anr' : 'crash', packageName, at: entry[1] ?? '', detail: detail.slice(0, 300) });
      continue;
    }
    const logcat = /^(\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3})\s+\d+\s+\d+\s+[EWIF]\s+(AndroidRuntime|ActivityManager)\s*:\s*(.*)$/.exec(line);
    if (!logcat) continue;
    const message = logcat[3] ?? '';
    if (logcat[2] === 'ActivityManager' && message.startsWith(`ANR in ${packageName}`)) {
      found.push({ kind: 'anr', packageName, at: logcat[1] ?? '', detail: message.slice(0, 300) });
    } else if (logcat[2] === 'AndroidRuntime' && message.startsWith(`Process: ${packageName},`)) {
      const next = /AndroidRuntime\s*:\s*(.*)$/.exec(all[index + 1] ?? '')?.[1] ?? 'crashed';
      found.push({ kind: 'crash', packageName, at: logcat[1] ?? '', detail: next.slice(0, 300) });
    }
  }
  // The same record twice (pasted twice, or answered to both the crash and the ANR query) is one crash.
  const seen = new Set<string>();
  const unique = found.filter((record) => {
    const key = `${record.kind}\u0000${record.at}\u0000${record.detail}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.slice(-MAX_CRASHES);
}

/**
 * The newest dropbox records of one package as text, for an engineer to read: at most `entries`
 * records, each cut at 40 lines and 4,000 characters (a stack of a thousand frames says no more).
 */
export function crashExcerpts(text: string, packageName: string, entries: number): { kind: 'crash' | 'anr'; at: string; text: string }[] {
  const all = text.split(/\r?\n/);
  const found: { kind: 'crash' | 'anr'; at: string; text: string }[] = [];
  for (let index = 0; index < all.length; index += 1) {
    const entry = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) data_app_(crash|anr)\b/.exec(all[index]?.trim() ?? '');
    if (!entry) continue;
    const body: string[] = [];
    for (let next = index + 1; next < all.length && !/^={10,}$/.test(all[next]?.trim() ?? '') && !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \w+/.test(all[next]?.trim() ?? ''); next += 1) body.push(all[next] ?? '');
    if (!body.some((line) => line.trim() === `Process: ${packageName}`)) continue;
    found.push({ kind: entry[2] === 'anr' ? 'anr' : 'crash', at: entry[1] ?? '', text: body.slice(0, 40).join('\n').slice(0, 4000) });
  }
  return found.slice(-entries);
}

export interface ControllerReading {
  side: 'left' | 'right' | 'unknown';
  name: string;
  connected: boolean | null;
  batteryPercent?: number;
}

/** Meta's `dumpsys OVRRemoteService`: one "Paired device: ..., Type: Left, ..., Battery: 80%, ..., ExternalStatus: CONNECTED_ACTIVE" line per controller. */
export function readQuestControllers(text: string): ControllerReading[] {
  const controllers: ControllerReading[] = [];
  for (const line of lines(text)) {
    if (!line.startsWith('Paired device:')) continue;
    const side = /Type:\s*(Left|Right)/i.exec(line)?.[1]?.toLowerCase();
    const battery = /Battery:\s*(\d{1,3})%/.exec(line)?.[1];
    const external = /ExternalStatus:\s*([A-Z_]+)/.exec(line)?.[1];
    const model = /Model:\s*([^,]+)/.exec(line)?.[1]?.trim();
    const reading: ControllerReading = {
      side: side === 'left' || side === 'right' ? side : 'unknown',
      name: `${side ? `${side} ` : ''}controller${model ? ` (${model})` : ''}`.slice(0, 64),
      connected: external === undefined ? null : external.startsWith('CONNECTED'),
    };
    // A controller that is not connected reports its last battery, which is not its battery now.
    if (battery !== undefined && reading.connected !== false) reading.batteryPercent = Math.min(100, Number(battery));
    controllers.push(reading);
  }
  return controllers;
}

const ADDRESS = '[0-9A-FX]{2}(?::[0-9A-FX]{2}){5}';
const CONTROLLER_NAME = /controller|手柄|gamepad|joystick|remote/i;

/**
 * `dumpsys bluetooth_manager` (AOSP's AdapterService and HidHostService dumps): the bonded devices
 * that name themselves controllers, connected as the HID host's input devices say (state 2 is
 * connected). For headsets whose maker's own service does not answer (Pico, Vive). Newer Android
 * masks the first octets ("XX:XX:XX:XX:5E:0A"), so addresses are matched on what both show.
 */
export function readBluetoothControllers(text: string): ControllerReading[] {
  const all = lines(text);
  const bondedAt = all.indexOf('Bonded devices:');
  if (bondedAt < 0) return [];
  const states = new Map<string, number>();
  const inputsAt = all.indexOf('mInputDevices:');
  for (const line of inputsAt < 0 ? [] : all.slice(inputsAt + 1, inputsAt + 33)) {
    const match = new RegExp(`^(${ADDRESS})\\s*:\\s*(\\d)$`, 'i').exec(line);
    if (!match) break;
    states.set((match[1] ?? '').toUpperCase(), Number(match[2]));
  }
  const controllers: ControllerReading[] = [];
  for (const line of all.slice(bondedAt + 1, bondedAt + 33)) {
    const match = new RegExp(`^(${ADDRESS})\\s*(?:\\[[^\\]]*\\]\\s*)*(.*)$`, 'i').exec(line);
    if (!match) break;
    const name = (match[2] ?? '').trim();
    if (!CONTROLLER_NAME.test(name)) continue;
    const address = (match[1] ?? '').toUpperCase();
    const state = [...states.entries()].find(([other]) => sameAddress(other, address))?.[1];
    const side = /(?:\b(?:left|L)\b|左)/i.test(name.replace(/controller/i, '')) ? 'left' : /(?:\b(?:right|R)\b|右)/i.test(name.replace(/controller/i, '')) ? 'right' : 'unknown';
    controllers.push({ side, name: name.slice(0, 64), connected: state === undefined ? null : state === 2 });
  }
  return controllers.slice(0, 8);
}

function sameAddress(a: string, b: string): boolean {
  return [...a].every((char, index) => char === b[index] || char === 'X' || b[index] === 'X');
}

/** `pidof PKG`: running when it prints a process id. */
export function readRunning(text: string): boolean {
  return /^\s*\d+(\s+\d+)*\s*$/.test(text.trim()) && text.trim().length > 0;
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

function colonFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of lines(text)) {
    const match = /^([A-Za-z][\w ]*?):\s*(.*)$/.exec(line);
    if (match && !fields.has(match[1] ?? '')) fields.set(match[1] ?? '', (match[2] ?? '').trim());
  }
  return fields;
}

/**
 * A headset capture as a support engineer pastes it: the outputs of the ADB commands the headset
 * probe runs (`adb devices -l`, `getprop`, `dumpsys battery`, `dumpsys thermalservice`, `df /data`,
 * `cmd wifi status`, `dumpsys OVRRemoteService`, `dumpsys package PKG`, `pidof PKG`, `dumpsys
 * dropbox --print`, `logcat`), each after its own `$ adb ...` line or alone, in any order, some
 * missing, with prose around them. Read into the same headset device the live probe makes.
 */
import type { Device, VrInfo } from '../../protocol/index.js';
import { readAdbDevices, readBattery, readBluetoothControllers, readCrashes, readDataStorage, readGetprop, readPackageVersion, readQuestControllers, readRunning, readThermal, readWifi } from './adb-outputs.js';

const COMMAND = /^\s*(?:\S*[$#]\s*)?adb(?:\s+-s\s+\S+)?\s+(.*)$/;
const PACKAGE = /[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+/;

/** One command's answer: what `adb shell ...` printed (the live probe) or what followed its `$ adb` line (a paste). */
export interface Section {
  command: string;
  text: string;
}

/** Cuts the paste at its `$ adb ...` lines; text before the first (or a paste without any) is one section with no command. */
function sections(text: string): Section[] {
  const found: Section[] = [{ command: '', text: '' }];
  for (const line of text.split(/\r?\n/)) {
    const command = COMMAND.exec(line);
    if (command) found.push({ command: (command[1] ?? '').trim(), text: '' });
    else {
      const current = found[found.length - 1];
      if (current) current.text += `${line}\n`;
    }
  }
  return found;
}

export function looksLikeHeadsetCapture(text: string): boolean {
  return /^\s*(?:\S*[$#]\s*)?adb\s+(?:-s\s+\S+\s+)?(?:shell|devices|logcat)\b/m.test(text) || /Current Battery Service state:/.test(text) || /^\s*\[ro\.product\.model\]:/m.test(text);
}

/** The text a command's answer is in: its own section, else the whole paste (outputs pasted alone). */
function answerOf(all: Section[], matches: (command: string) => boolean, whole: string): string {
  const own = all.filter((section) => section.command !== '' && matches(section.command));
  return own.length > 0 ? own.map((section) => section.text).join('\n') : whole;
}

export interface HeadsetCapture {
  device: Device | null;
  /** The commands the paste answered, to say what the verdict rests on. */
  commands: string[];
}

export function readHeadsetCapture(text: string, apps: readonly string[] = []): HeadsetCapture {
  return headsetFromSections(sections(text), text, apps);
}

/**
 * The headset the answers describe. `whole` is where an answer pasted without its command line is
 * looked for (the paste itself); the live probe passes '' since each answer has its command.
 */
export function headsetFromSections(all: Section[], text: string, apps: readonly string[]): HeadsetCapture {
  const commands = all.map((section) => section.command).filter(Boolean);
  const listed = readAdbDevices(answerOf(all, (c) => /^devices\b/.test(c), ''));
  const props = readGetprop(answerOf(all, (c) => /getprop/.test(c), text));
  const batteryText = answerOf(all, (c) => /dumpsys battery/.test(c), text);
  const battery = readBattery(batteryText.includes('Current Battery Service state:') ? batteryText.slice(batteryText.indexOf('Current Battery Service state:')) : batteryText);
  const thermal = readThermal(answerOf(all, (c) => /thermalservice/.test(c), text));
  const storage = readDataStorage(answerOf(all, (c) => /\bdf\b/.test(c), text));
  const wifi = readWifi(answerOf(all, (c) => /wifi/.test(c), text));
  const quest = readQuestControllers(answerOf(all, (c) => /OVRRemoteService/.test(c), text));
  // Meta's own service knows its controllers best; elsewhere Bluetooth's bonded devices are what there is.
  const controllers = quest.length > 0 ? quest : readBluetoothControllers(answerOf(all, (c) => /bluetooth_manager/.test(c), text));

  // The class's apps: those configured, else every package the paste asked about.
  const asked = new Set(apps);
  if (asked.size === 0) {
    for (const command of commands) {
      const named = /(?:dumpsys package|pidof|am force-stop)\s+(\S+)/.exec(command)?.[1];
      if (named && PACKAGE.test(named)) asked.add(named);
    }
    for (const match of text.matchAll(/^\s*Package \[([\w.]+)\]/gm)) if (match[1]) asked.add(match[1]);
  }
  const crashText = answerOf(all, (c) => /dropbox|logcat/.test(c), text);
  const vrApps: VrInfo['apps'] = [...asked].slice(0, 32).map((packageName) => {
    const packageText = answerOf(all, (c) => c.includes(`dumpsys package ${packageName}`), text);
    const version = readPackageVersion(packageText, packageName);
    const pid = all.find((section) => section.command.includes(`pidof ${packageName}`));
    const askedPackage = all.some((section) => section.command.includes(`dumpsys package ${packageName}`)) || version !== null;
    return {
      packageName,
      // Not installed only when its own dumpsys package was pasted and named no such package.
      installed: askedPackage ? version !== null : true,
      ...(version?.versionName ? { versionName: version.versionName } : {}),
      ...(version?.versionCode !== undefined ? { versionCode: version.versionCode } : {}),
      ...(pid ? { running: readRunning(pid.text) } : {}),
      crashes: readCrashes(crashText, packageName),
    };
  });

  const entry = listed[0];
  const model = props.get('ro.product.model') ?? entry?.model?.replace(/_/g, ' ');
  const serial = props.get('ro.serialno') ?? entry?.serial;
  if (model === undefined && serial === undefined && battery === null) return { device: null, commands };
  const authorized = entry?.state !== 'unauthorized';
  const make = props.get('ro.product.manufacturer');
  const vr: VrInfo = {
    authorized,
    controllers,
    apps: vrApps,
    ...(props.get('ro.build.display.id') ? { osBuild: props.get('ro.build.display.id') } : {}),
    ...(battery ? { battery } : {}),
    ...(thermal ? { thermal: { status: thermal.status, ...(thermal.hottest ? { hottestC: thermal.hottest.celsius, hottestSensor: thermal.hottest.name } : {}) } } : {}),
    ...(storage ? { storage } : {}),
    ...(wifi ? { wifi } : {}),
  };
  const usbPort = entry?.usb;
  const device: Device = {
    id: `adb:${serial ?? model ?? 'headset'}`.slice(0, 256),
    kind: 'vr-headset',
    name: [make, model].filter(Boolean).join(' ') || `VR headset ${serial ?? ''}`.trim(),
    connection: usbPort ? { type: 'usb', bus: Number(/^(\d+)-/.exec(usbPort)?.[1] ?? 0), portPath: usbPort } : { type: 'os', path: `adb:${serial ?? 'unknown'}` },
    status: authorized ? 'ok' : 'unreachable',
    vr,
    ...(make ? { make } : {}),
    ...(model ? { model } : {}),
    ...(serial ? { serialNumber: serial } : {}),
  };
  return { device, commands };
}

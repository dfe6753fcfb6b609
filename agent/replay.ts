import { readFile } from 'node:fs/promises';
import { AvcareError, inventoryMessageSchema, systemSnapshotSchema, type Device } from '../protocol/index.js';
import type { CycleSnapshot } from './faults/fault-condition.js';
import type { ConnectionEvent } from './faults/unstable-connection.js';
import { ffmpegDevices, looksLikeFfmpegDeviceList, readFfmpegDeviceList } from './pasted/ffmpeg-device-list.js';
import { looksLikePastedLinux, readPastedLinux, type PastedConclusion } from './pasted/pasted-linux.js';
import { looksLikeHeadsetCapture, readHeadsetCapture } from './vr/headset-capture.js';
import { looksLikePastedMacos, readPastedMacos } from './platform/macos/pasted-macos.js';
import { looksLikePastedWindows, readPastedWindows } from './platform/windows/pasted-windows.js';
import { looksLikeLsusb, parseLsusbDump, type LsusbDump, type SkippedLine } from './probes/lsusb-parse.js';
import { classifyUsb } from './probes/usb-classify.js';
import type { UsbIds } from './probes/usb-ids.js';

const MAX_SKIPPED_IN_JSON = 500;

/** A replayed cycle, with the lines of an lsusb dump that were not used and why. */
export interface Replay {
  cycle: CycleSnapshot;
  skipped: SkippedLine[];
  /** What each pasted tool showed (pastes of Linux tools only). */
  conclusions: PastedConclusion[];
  /** USB connects and disconnects from a pasted kernel log, for DEVICE_UNSTABLE_CONNECTION. */
  connectionEvents: ConnectionEvent[];
}

/**
 * Classifies a saved inventory instead of this PC: what a school can send a support engineer.
 * FILE is the agent's own `probe --json` output or the text of `lsusb -v`, however it was pasted.
 */
export async function loadReplay(file: string, usbIds: UsbIds | null = null): Promise<Replay> {
  let text: string;
  try {
    text = decodePaste(await readFile(file));
  } catch (error) {
    throw new AvcareError('INVALID_ARGUMENT', `cannot read replay file ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (looksLikePastedWindows(text)) return replayWindows(text, file);
  if (looksLikePastedMacos(text)) return replayMacos(text, file);
  if (looksLikeFfmpegDeviceList(text)) return replayFfmpeg(text, file);
  if (trimmed.startsWith('{')) return { cycle: replayInventory(trimmed, file), skipped: [], conclusions: [], connectionEvents: [] };
  if (looksLikeHeadsetCapture(text)) return replayHeadset(text, file);
  if (looksLikeLsusb(text) || looksLikePastedLinux(text)) return replayPasted(text, usbIds);
  throw new AvcareError(
    'REPLAY_UNRECOGNISED',
    `${file} is neither an avcare inventory (JSON) nor the output of a tool it reads: \`lsusb -v\` or \`lsusb\` (no "Bus NNN Device NNN: ID vvvv:pppp", "Device: ID vvvv:pppp" or "Device Descriptor:" line), usb-devices, usbhid-dump, hid-recorder, /proc/bus/input/devices, libinput list-devices, udevadm info, evtest, a kernel log with USB lines, Windows' Get-PnpDevice or Win32_PnPEntity (JSON or table) or wmic, macOS's system_profiler (JSON or text), dxdiag /t, ffmpeg -list_devices (dshow or avfoundation), or a VR headset's ADB outputs`,
    { file },
  );
}

/** Windows PowerShell 5.1 writes `>` redirections as UTF-16 with a byte-order mark; everything else is UTF-8. */
function decodePaste(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  return bytes.toString('utf8');
}

/** A Windows PC's Plug and Play devices, as its user pasted them. */
function replayWindows(text: string, file: string): Replay {
  const pasted = readPastedWindows(text);
  if (pasted.conclusions.length === 0) throw new AvcareError('REPLAY_INVALID', `${file} looks like a Windows listing but names no device with both an instance id and a class, and no camera or microphone privacy value (send \`Get-PnpDevice | ConvertTo-Json\`, or \`reg query\` of the ConsentStore keys)`, { file });
  const cycle: CycleSnapshot = { at: new Date(), devices: pasted.devices, sources: [{ source: 'media', state: 'ok', durationMs: 0 }] };
  if (pasted.privacy) cycle.privacy = pasted.privacy;
  return { cycle, skipped: [], conclusions: pasted.conclusions, connectionEvents: [] };
}

/** A Mac's USB devices, cameras and audio devices, as system_profiler printed them. */
function replayMacos(text: string, file: string): Replay {
  const pasted = readPastedMacos(text);
  if (pasted.conclusions.length === 0) throw new AvcareError('REPLAY_INVALID', `${file} looks like system_profiler or TCC output but none of its USB, camera, audio or permission records could be read (send \`system_profiler SPUSBDataType SPCameraDataType SPAudioDataType -json\`)`, { file });
  const sources: CycleSnapshot['sources'] = [
    ...(pasted.devices.some((device) => device.usb) ? [{ source: 'usb' as const, state: 'ok' as const, durationMs: 0 }] : []),
    { source: 'media', state: 'ok', durationMs: 0 },
  ];
  const cycle: CycleSnapshot = { at: new Date(), devices: pasted.devices, sources };
  if (pasted.privacy) cycle.privacy = pasted.privacy;
  return { cycle, skipped: [], conclusions: pasted.conclusions, connectionEvents: [] };
}

/** The cameras and microphones ffmpeg can open: names only, so nothing about their state is concluded. */
function replayFfmpeg(text: string, file: string): Replay {
  const list = readFfmpegDeviceList(text);
  if (list.length === 0) throw new AvcareError('REPLAY_INVALID', `${file} has ffmpeg's device lines but names no camera or microphone in them (send the whole output of \`ffmpeg -list_devices true -f dshow -i dummy\`)`, { file });
  const backend = list[0]?.backend === 'dshow' ? 'DirectShow' : 'AVFoundation';
  const devices = ffmpegDevices(list);
  const params = { video: list.filter((device) => device.media === 'video').length, audio: list.filter((device) => device.media === 'audio').length };
  return {
    cycle: { at: new Date(), devices, sources: [{ source: 'media', state: 'ok', durationMs: 0 }] },
    skipped: [],
    conclusions: [{ tool: `ffmpeg -list_devices (${backend})`, key: 'ffmpegDevices', params }],
    connectionEvents: [],
  };
}

function replayInventory(text: string, file: string): CycleSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AvcareError('REPLAY_INVALID', `${file} starts like JSON but does not parse: ${(error as Error).message}`, { file });
  }
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== 'inventory') {
    throw new AvcareError('REPLAY_UNRECOGNISED', `${file} is JSON but not an avcare inventory (it has no "type": "inventory")`, { file });
  }
  // `probe --json` adds the PC's state and the faults; the faults are detected anew, the state is kept.
  const parsed = inventoryMessageSchema.extend({ system: systemSnapshotSchema.optional() }).safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new AvcareError('REPLAY_INVALID', `${file} is not a valid avcare inventory:\n  ${problems.join('\n  ')}`, { file, problems });
  }
  // Re-classify with this agent's catalog: the point of a replay is a second opinion on the devices.
  const devices = parsed.data.devices.map((device): Device => (device.usb ? { ...device, ...classifyUsb(device.usb) } : device));
  return { at: new Date(parsed.data.at), devices, sources: parsed.data.sources, ...(parsed.data.system ? { system: parsed.data.system } : {}) };
}

function replayPasted(text: string, usbIds: UsbIds | null): Replay {
  const dump = lsusbVerbose(text);
  const pasted = readPastedLinux(text, dump?.devices ?? [], usbIds);
  if (pasted.devices.length === 0 && pasted.conclusions.length === 0) parseLsusbDump(text); // throws its own explanation of what is missing
  const otherTools = pasted.conclusions.some((conclusion) => conclusion.key !== 'lsusbVerbose');
  const sources: CycleSnapshot['sources'] = [{ source: 'usb', state: 'ok', durationMs: 0 }];
  if (pasted.devices.some((device) => device.touch)) sources.push({ source: 'media', state: 'ok', durationMs: 0 });
  return {
    cycle: { at: pasted.at, devices: pasted.devices, sources },
    // Beside other tools' output, lsusb's "not lsusb" lines are theirs: listing them would only be noise.
    skipped: otherTools ? (dump?.skipped.filter((line) => line.kind === 'lsusb-note' || line.kind === 'incomplete') ?? []) : (dump?.skipped ?? []),
    conclusions: otherTools ? pasted.conclusions : [],
    connectionEvents: pasted.connectionEvents,
  };
}

/** A VR headset's ADB outputs, as a support engineer pastes them. */
function replayHeadset(text: string, file: string): Replay {
  const { device, commands } = readHeadsetCapture(text);
  if (!device) throw new AvcareError('REPLAY_INVALID', `${file} has ADB commands but no answer that names a headset: include \`adb devices -l\`, \`adb shell getprop\` or \`adb shell dumpsys battery\``, { file, commands });
  const shown = commands.length > 0 ? commands.map((command) => `adb ${command}`).join(', ') : 'outputs pasted without their commands';
  return {
    cycle: { at: new Date(), devices: [device], sources: [{ source: 'adb', state: 'ok', durationMs: 0 }] },
    skipped: [],
    conclusions: [{ tool: 'adb', key: 'headset', params: { commands: shown.slice(0, 1500) } }],
    connectionEvents: [],
  };
}

/** `lsusb -v`'s devices when the paste has any Device Descriptor; plain `lsusb` lines are read elsewhere. */
function lsusbVerbose(text: string): LsusbDump | null {
  if (!/Device Descriptor:/i.test(text)) return null;
  try {
    return parseLsusbDump(text);
  } catch {
    return null;
  }
}

/** The JSON output's account of a replay: every skipped line up to a cap, and how many there were. */
export function replayJson(file: string, replay: Replay, render: (conclusion: PastedConclusion) => string): { file: string; skippedLines: SkippedLine[]; skippedTotal: number; concluded: Array<{ tool: string; text: string }> } {
  return {
    file,
    skippedLines: replay.skipped.slice(0, MAX_SKIPPED_IN_JSON),
    skippedTotal: replay.skipped.length,
    concluded: replay.conclusions.map((conclusion) => ({ tool: conclusion.tool, text: render(conclusion) })),
  };
}

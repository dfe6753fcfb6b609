import { readFile } from 'node:fs/promises';
import { AvcareError, inventoryMessageSchema, systemSnapshotSchema, type Device } from '../protocol/index.js';
import type { CycleSnapshot } from './faults/fault-condition.js';
import { looksLikeLsusb, parseLsusbDump, type SkippedLine } from './probes/lsusb-parse.js';
import { classifyUsb, usbDeviceFromInfo } from './probes/usb-classify.js';
import type { UsbIds } from './probes/usb-ids.js';

const MAX_SKIPPED_IN_JSON = 500;

/** A replayed cycle, with the lines of an lsusb dump that were not used and why. */
export interface Replay {
  cycle: CycleSnapshot;
  skipped: SkippedLine[];
}

/**
 * Classifies a saved inventory instead of this PC: what a school can send a support engineer.
 * FILE is the agent's own `probe --json` output or the text of `lsusb -v`, however it was pasted.
 */
export async function loadReplay(file: string, usbIds: UsbIds | null = null): Promise<Replay> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AvcareError('INVALID_ARGUMENT', `cannot read replay file ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('{')) return { cycle: replayInventory(trimmed, file), skipped: [] };
  if (looksLikeLsusb(text)) return replayLsusb(text, usbIds);
  throw new AvcareError(
    'REPLAY_UNRECOGNISED',
    `${file} is neither an avcare inventory (JSON) nor the output of \`lsusb -v\` (no "Bus NNN Device NNN: ID vvvv:pppp", "Device: ID vvvv:pppp" or "Device Descriptor:" line)`,
    { file },
  );
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

function replayLsusb(text: string, usbIds: UsbIds | null): Replay {
  const dump = parseLsusbDump(text);
  const devices = dump.devices.map((info) => usbDeviceFromInfo(info, usbIds?.lookup(info.vendorId, info.productId)));
  return { cycle: { at: new Date(), devices, sources: [{ source: 'usb', state: 'ok', durationMs: 0 }] }, skipped: dump.skipped };
}

/** The JSON output's account of a replay: every skipped line up to a cap, and how many there were. */
export function replayJson(file: string, replay: Replay): { file: string; skippedLines: SkippedLine[]; skippedTotal: number } {
  return { file, skippedLines: replay.skipped.slice(0, MAX_SKIPPED_IN_JSON), skippedTotal: replay.skipped.length };
}

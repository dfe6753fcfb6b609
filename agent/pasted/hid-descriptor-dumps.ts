/**
 * HID report descriptors as schools paste them, from three tools:
 *
 * - `usbhid-dump`: "001:004:000:DESCRIPTOR  1700000000.123456" (bus, device, interface), then lines
 *   of hex bytes until a blank line;
 * - `hid-recorder` (hid-tools): "R: 13 05 0d 09 04 ..." (length, then the bytes) with
 *   "I: 3 222a 0001" (bus, vendor, product) after it;
 * - the kernel's debugfs `rdesc` (`cat /sys/kernel/debug/hid/0003:222A:0001.0004/rdesc`): a line
 *   of hex bytes under the command that names the device.
 *
 * A dump whose stated length differs from its bytes is kept, with the mismatch as a problem: the
 * descriptor is the device's claim and reading it is how it is judged.
 */

export interface DescriptorDump {
  tool: 'usbhid-dump' | 'hid-recorder' | 'rdesc';
  /** Where the device is, when the tool says it (usbhid-dump). */
  bus?: number;
  address?: number;
  interfaceNumber?: number;
  vendorId?: number;
  productId?: number;
  /** The device's name, where the tool prints it (hid-recorder's N: line). */
  name?: string;
  bytes: Uint8Array;
  /** Where the dump contradicts itself (a length that is not its byte count). */
  problems: string[];
}

/** The kernel never keeps more than this (HID_MAX_DESCRIPTOR_SIZE); a longer dump is cut there and says so. */
const MAX_BYTES = 4096;
const HEX_LINE = /^(?:[0-9a-f]{2}\s+)*[0-9a-f]{2}\s*$/i;
const USBHID_HEADER = /^(\d{3}):(\d{3}):(\d{3}):DESCRIPTOR\b/;
const RECORDER_R = /^R:\s+(\d+)((?:\s+[0-9a-f]{2})*)\s*$/i;
const RECORDER_I = /^I:\s+([0-9a-f]+)\s+([0-9a-f]{1,4})\s+([0-9a-f]{1,4})\s*$/i;
const RDESC_COMMAND = /\/hid\/([0-9a-f]{4}):([0-9a-f]{4}):([0-9a-f]{4})\.[0-9a-f]+\/rdesc\b/i;

export function looksLikeDescriptorDump(text: string): boolean {
  return /^[\s>]*(?:\d{3}:\d{3}:\d{3}:DESCRIPTOR\b|R:\s+\d+\s+[0-9a-f]{2}\s)/im.test(text) || RDESC_COMMAND.test(text);
}

function bytesOf(hex: string): number[] {
  return hex.trim().split(/\s+/).filter(Boolean).map((byte) => parseInt(byte, 16));
}

function capped(bytes: number[], problems: string[]): Uint8Array {
  if (bytes.length > MAX_BYTES) problems.push(`the dump has ${bytes.length} bytes, more than a HID descriptor can have (${MAX_BYTES}); read up to there`);
  return Uint8Array.from(bytes.slice(0, MAX_BYTES));
}

export function readDescriptorDumps(text: string): DescriptorDump[] {
  const lines = text.split(/\r?\n/).map((line) => line.replace(/^[\s>]*/, '').trimEnd());
  const dumps: DescriptorDump[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    const usbhid = USBHID_HEADER.exec(line);
    if (usbhid) {
      const bytes: number[] = [];
      while (index + 1 < lines.length && HEX_LINE.test(lines[index + 1] ?? '')) bytes.push(...bytesOf(lines[(index += 1)] ?? ''));
      const problems: string[] = [];
      dumps.push({ tool: 'usbhid-dump', bus: Number(usbhid[1]), address: Number(usbhid[2]), interfaceNumber: Number(usbhid[3]), bytes: capped(bytes, problems), problems });
      continue;
    }
    const recorded = RECORDER_R.exec(line);
    if (recorded) {
      const bytes = bytesOf(recorded[2] ?? '');
      const problems: string[] = [];
      const stated = Number(recorded[1]);
      if (stated !== bytes.length) problems.push(`hid-recorder says ${stated} bytes but the line has ${bytes.length}`);
      const dump: DescriptorDump = { tool: 'hid-recorder', bytes: capped(bytes, problems), problems };
      // Its I: line (bus vendor product) follows within the same recording.
      for (let next = index + 1; next < Math.min(lines.length, index + 6); next += 1) {
        const named = /^N:\s+(.+)$/.exec(lines[next] ?? '');
        if (named?.[1] && !named[1].startsWith('Name=')) dump.name = named[1].slice(0, 256);
        const ids = RECORDER_I.exec(lines[next] ?? '');
        if (ids) {
          dump.vendorId = parseInt(ids[2] ?? '0', 16);
          dump.productId = parseInt(ids[3] ?? '0', 16);
          break;
        }
      }
      dumps.push(dump);
      continue;
    }
    const rdesc = RDESC_COMMAND.exec(line);
    if (rdesc && HEX_LINE.test(lines[index + 1] ?? '')) {
      const problems: string[] = [];
      dumps.push({ tool: 'rdesc', vendorId: parseInt(rdesc[2] ?? '0', 16), productId: parseInt(rdesc[3] ?? '0', 16), bytes: capped(bytesOf(lines[(index += 1)] ?? ''), problems), problems });
    }
  }
  return dumps;
}

/**
 * USB connects and disconnects as the kernel logs them, read from what a school pastes (`dmesg`,
 * `dmesg -T`, `journalctl -k` in its short and ISO formats): the port, when, and what the device
 * said it was when it arrived. The loose cable behind "the board stopped answering" shows here as
 * the same port connecting and disconnecting again and again.
 */

export interface KernelUsbEvent {
  /** The port as the kernel names it: bus-port[.port...] ("1-1.4"). */
  port: string;
  type: 'connect' | 'disconnect';
  /** Seconds since boot (plain dmesg) or wall-clock ms (dmesg -T, journalctl), as the log gave it. */
  at: { kind: 'uptime'; seconds: number } | { kind: 'wall'; ms: number };
  /** The kernel's device number on the bus: a reconnect gets a new one. */
  deviceNumber: number | null;
  vendorId?: number;
  productId?: number;
  product?: string;
}

export interface KernelUsbLog {
  events: KernelUsbEvent[];
  /** Lines that were about USB devices but said something this reader does not use. */
  otherUsbLines: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** `[ 1234.567890] `, `[Mon Dec  7 08:01:02 2026] `, `Dec 07 08:01:02 host kernel: `, `2026-12-07T08:01:02+0800 host kernel: `. */
const PREFIXES: Array<{ pattern: RegExp; at: (match: RegExpExecArray, year: number) => KernelUsbEvent['at'] | undefined }> = [
  { pattern: /^\[\s*(\d+\.\d+)\]\s+/, at: (match) => ({ kind: 'uptime', seconds: Number(match[1]) }) },
  {
    pattern: /^\[\w{3} (\w{3})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\]\s+/,
    at: (match) => wall(Number(match[6]), match[1] ?? '', Number(match[2]), match[3] ?? '', match[4] ?? '', match[5] ?? ''),
  },
  { pattern: /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)?)\s+\S+\s+kernel:\s+(?:\[\s*\d+\.\d+\]\s+)?/, at: (match) => isoWall(match[1] ?? '') },
  {
    pattern: /^(\w{3})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\s+\S+\s+kernel:\s+(?:\[\s*\d+\.\d+\]\s+)?/,
    at: (match, year) => wall(year, match[1] ?? '', Number(match[2]), match[3] ?? '', match[4] ?? '', match[5] ?? ''),
  },
];

function wall(year: number, month: string, day: number, hours: string, minutes: string, seconds: string): KernelUsbEvent['at'] | undefined {
  const index = MONTHS.indexOf(month.toLowerCase());
  if (index < 0) return undefined;
  // The log's own clock, without a zone: read as UTC, which keeps the gaps between lines right.
  return { kind: 'wall', ms: Date.UTC(year, index, day, Number(hours), Number(minutes), Number(seconds)) };
}

function isoWall(text: string): KernelUsbEvent['at'] | undefined {
  // journalctl -o short-iso writes +0800; Date.parse wants +08:00.
  const ms = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : { kind: 'wall', ms };
}

const USB_LINE = /^usb (\d+-[\d.]+):\s+(.*)$/;

/** Reads the USB lines of a pasted kernel log; everything else around them (prose, other drivers) is passed over. */
export function readKernelUsbLog(text: string, options: { year?: number } = {}): KernelUsbLog {
  const year = options.year ?? new Date().getUTCFullYear();
  const events: KernelUsbEvent[] = [];
  const lastConnect = new Map<string, KernelUsbEvent>();
  let otherUsbLines = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    let at: KernelUsbEvent['at'] | undefined;
    let rest = line;
    for (const prefix of PREFIXES) {
      const match = prefix.pattern.exec(line);
      if (!match) continue;
      at = prefix.at(match, year);
      rest = line.slice(match[0].length);
      break;
    }
    const usb = USB_LINE.exec(rest);
    if (!usb || at === undefined) continue;
    const port = usb[1] ?? '';
    const message = usb[2] ?? '';
    const connected = /^new (?:[\w-]+ )?(?:speed )?USB device number (\d+)/i.exec(message);
    const disconnected = /^USB disconnect, device number (\d+)/i.exec(message);
    const identity = /^New USB device found, idVendor=([0-9a-f]{4}), idProduct=([0-9a-f]{4})/i.exec(message);
    const product = /^Product: (.{1,256})$/.exec(message);
    if (connected) {
      const event: KernelUsbEvent = { port, type: 'connect', at, deviceNumber: Number(connected[1]) };
      events.push(event);
      lastConnect.set(port, event);
    } else if (disconnected) {
      events.push({ port, type: 'disconnect', at, deviceNumber: Number(disconnected[1]) });
      lastConnect.delete(port);
    } else if (identity && lastConnect.has(port)) {
      const event = lastConnect.get(port);
      if (event) {
        event.vendorId = parseInt(identity[1] ?? '0', 16);
        event.productId = parseInt(identity[2] ?? '0', 16);
      }
    } else if (product && lastConnect.has(port)) {
      const event = lastConnect.get(port);
      if (event) event.product = product[1] ?? '';
    } else {
      otherUsbLines += 1;
    }
  }
  return { events, otherUsbLines };
}

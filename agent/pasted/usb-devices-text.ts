/**
 * The output of `usb-devices` (usbutils' script over /sys/bus/usb), as a school pastes it:
 *
 *   T:  Bus=01 Lev=02 Prnt=02 Port=03 Cnt=01 Dev#=  5 Spd=12  MxCh= 0
 *   P:  Vendor=222a ProdID=0001 Rev=01.10
 *   S:  Product=ILITEK-TP
 *   I:  If#=0x0 Alt= 0 #EPs= 1 Cls=03(HID  ) Sub=00 Prot=00 Driver=usbhid
 *
 * Unlike `lsusb -v` it names each interface's driver ("(none)" when none took it) and, through
 * Prnt and Port, where the device hangs, so the port chain ("1-1.4") can be rebuilt.
 */
import type { UsbInfo } from '../../protocol/index.js';

export interface UsbDevicesEntry {
  info: UsbInfo;
  /** Interface number to the driver bound to it; null where usb-devices printed "(none)". */
  drivers: Map<number, string | null>;
}

const T_LINE = /^T:\s+Bus=\s*(\d+)\s+Lev=\s*(\d+)\s+Prnt=\s*(\d+)\s+Port=\s*(\d+)\s+Cnt=\s*\d+\s+Dev#=\s*(\d+)/;
const D_LINE = /^D:\s+Ver=\s*[\d.]+\s+Cls=([0-9a-f]{2})\S*\s*(?:\([^)]*\))?\s+Sub=([0-9a-f]{2})\s+Prot=([0-9a-f]{2})/i;
const P_LINE = /^P:\s+Vendor=([0-9a-f]{4})\s+ProdID=([0-9a-f]{4})/i;
const S_LINE = /^S:\s+(Manufacturer|Product|SerialNumber)=(.*)$/;
const I_LINE = /^I:\*?\s+If#=\s*(0x[0-9a-f]+|\d+)\s+Alt=\s*(\d+)\s+#EPs=\s*\d+\s+Cls=([0-9a-f]{2})\s*(?:\([^)]*\))?\s+Sub=([0-9a-f]{2})\s+Prot=([0-9a-f]{2})\s+Driver=(\S+)/i;

export function looksLikeUsbDevices(text: string): boolean {
  return /^[\s>]*T:\s+Bus=\s*\d+\s+Lev=/m.test(text);
}

interface Partial {
  bus: number;
  level: number;
  parent: number;
  port: number;
  address: number;
  info: { vendorId?: number; productId?: number; deviceClass: number; deviceSubClass: number; deviceProtocol: number; manufacturer?: string; product?: string; serialNumber?: string };
  interfaces: UsbInfo['interfaces'];
  drivers: Map<number, string | null>;
}

/** The devices of a usb-devices paste; root hubs are read for the port chain but not returned. */
export function readUsbDevices(text: string): UsbDevicesEntry[] {
  const entries: Partial[] = [];
  let current: Partial | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^[\s>]*/, '');
    const t = T_LINE.exec(line);
    if (t) {
      current = { bus: Number(t[1]), level: Number(t[2]), parent: Number(t[3]), port: Number(t[4]), address: Number(t[5]), info: { deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0 }, interfaces: [], drivers: new Map() };
      entries.push(current);
      continue;
    }
    if (!current) continue;
    const d = D_LINE.exec(line);
    if (d) Object.assign(current.info, { deviceClass: parseInt(d[1] ?? '0', 16), deviceSubClass: parseInt(d[2] ?? '0', 16), deviceProtocol: parseInt(d[3] ?? '0', 16) });
    const p = P_LINE.exec(line);
    if (p) Object.assign(current.info, { vendorId: parseInt(p[1] ?? '0', 16), productId: parseInt(p[2] ?? '0', 16) });
    const s = S_LINE.exec(line);
    if (s) current.info[s[1] === 'Manufacturer' ? 'manufacturer' : s[1] === 'Product' ? 'product' : 'serialNumber'] = (s[2] ?? '').trim().slice(0, 256);
    const i = I_LINE.exec(line);
    if (i) {
      const number = Number(i[1]);
      if (number > 0xff) continue;
      const alternate = Number(i[2]);
      current.interfaces.push({ number, alternate: Math.min(alternate, 0xff), class: parseInt(i[3] ?? '0', 16), subClass: parseInt(i[4] ?? '0', 16), protocol: parseInt(i[5] ?? '0', 16) });
      if (alternate === 0) current.drivers.set(number, i[6] === '(none)' ? null : (i[6] ?? null));
    }
  }
  return withPortChains(entries);
}

/** Lev=0 is the root hub; a device's chain is its parent's plus its own Port + 1 (Port counts from 0). */
function withPortChains(entries: Partial[]): UsbDevicesEntry[] {
  const chains = new Map<string, number[]>();
  const result: UsbDevicesEntry[] = [];
  for (const entry of entries) {
    // A paste cut above this device's hub leaves its chain unknown: empty, never guessed.
    const parentChain = entry.level === 1 ? [] : chains.get(`${entry.bus}:${entry.parent}`);
    const chain = entry.level === 0 || parentChain === undefined ? [] : [...parentChain, entry.port + 1];
    if (entry.level === 0 || parentChain !== undefined) chains.set(`${entry.bus}:${entry.address}`, chain);
    const { vendorId, productId, ...rest } = entry.info;
    if (entry.level === 0 || vendorId === undefined || productId === undefined) continue;
    const info: UsbInfo = { vendorId, productId, ...rest, interfaces: entry.interfaces, busNumber: entry.bus, deviceAddress: entry.address, portPath: chain };
    result.push({ info, drivers: entry.drivers });
  }
  return result;
}

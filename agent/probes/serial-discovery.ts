import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { compareCodeUnits } from '../code-unit-order.js';

export interface DiscoveredSerialPort {
  /** The path to configure: the /dev/serial/by-id link when there is one, since ttyUSB numbers change between boots. */
  path: string;
  /** The device node the path resolves to, e.g. /dev/ttyUSB0. */
  realPath: string;
  /** The by-id name (udev builds it from the adapter's USB vendor, product and serial strings). */
  byId?: string;
}

/** USB serial adapters (FTDI, CH340, PL2303, CP210x) and CDC-ACM devices; on-board ttyS ports are left out. */
const USB_TTY_NAME = /^tty(USB|ACM)(\d+)$/;

/**
 * Lists serial ports by reading /dev directly. Workaround: serialport's list() shells out to
 * udevadm, which classroom PCs running without udevd (and this build machine) do not have.
 */
export async function discoverSerialPorts(options: { devDir?: string } = {}): Promise<DiscoveredSerialPort[]> {
  const devDir = options.devDir ?? '/dev';
  const ports: DiscoveredSerialPort[] = [];
  const seen = new Set<string>();

  const byIdDir = join(devDir, 'serial', 'by-id');
  for (const name of (await listDir(byIdDir)).sort()) {
    const path = join(byIdDir, name);
    const realPath = await resolve(path);
    if (realPath === undefined || seen.has(realPath)) continue;
    seen.add(realPath);
    ports.push({ path, realPath, byId: name });
  }

  const ttys = (await listDir(devDir)).filter((name) => USB_TTY_NAME.test(name)).sort(compareTtyNames);
  for (const name of ttys) {
    const path = join(devDir, name);
    const realPath = await resolve(path);
    if (realPath === undefined || seen.has(realPath)) continue;
    seen.add(realPath);
    ports.push({ path, realPath });
  }
  return ports;
}

/** A missing directory means "no such ports" (no by-id folder without USB serial devices). */
async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return [];
    throw error;
  }
}

/** undefined for a link whose device vanished between readdir and realpath (adapter unplugged). */
async function resolve(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** ttyACM before ttyUSB, then by number, so ttyUSB2 sorts before ttyUSB10. */
function compareTtyNames(a: string, b: string): number {
  const [, typeA = '', numberA = '0'] = USB_TTY_NAME.exec(a) ?? [];
  const [, typeB = '', numberB = '0'] = USB_TTY_NAME.exec(b) ?? [];
  return compareCodeUnits(typeA, typeB) || Number(numberA) - Number(numberB);
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

import { accessSync, constants, readFileSync } from 'node:fs';
import type { UsbNames } from './usb-classify.js';

/**
 * The usb.ids database (linux-usb.org), as shipped by usbutils/hwdata. It is dual-licensed
 * GPL-2.0-or-later OR BSD-3-Clause; we only read the copy the OS installed.
 */
export interface UsbIds {
  lookup(vendorId: number, productId: number): UsbNames;
}

/** Debian/Ubuntu (usbutils, usb.ids package), Fedora/RHEL (hwdata), older Debian. */
export const USB_IDS_PATHS: readonly string[] = ['/usr/share/misc/usb.ids', '/usr/share/hwdata/usb.ids', '/var/lib/usbutils/usb.ids'];

/** A classroom PC sees a few dozen distinct device types; the bound only guards a hostile bus. */
const MAX_CACHED_NAMES = 1024;

const VENDOR_LINE = /^([0-9a-fA-F]{4})\s+(.+?)\s*$/;
const PRODUCT_LINE = /^\t([0-9a-fA-F]{4})\s+(.+?)\s*$/;
/** The vendor list ends where the class list ("C 00  (Defined at Interface level)") starts. */
const CLASS_SECTION = /^C [0-9a-fA-F]{2}\s/;

/**
 * Finds one vendor/product in the text of usb.ids: `vvvv  Vendor` lines, `\tpppp  Product` lines
 * under them; interface lines (two tabs) and comments are skipped; the search stops at the class
 * section, whose tab-indented lines would otherwise look like products of the last vendor.
 */
export function findUsbNames(text: string, vendorId: number, productId: number): UsbNames {
  const names: UsbNames = {};
  let inVendor = false;
  let start = 0;
  while (start < text.length) {
    const end = nextLineEnd(text, start);
    const line = text.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (CLASS_SECTION.test(line)) break;
    if (line.startsWith('#') || line.trim() === '') continue;
    if (!line.startsWith('\t')) {
      if (inVendor) break;
      const vendor = VENDOR_LINE.exec(line);
      if (vendor?.[1] !== undefined && vendor[2] !== undefined && parseInt(vendor[1], 16) === vendorId) {
        inVendor = true;
        names.vendorName = detached(vendor[2]);
      }
      continue;
    }
    if (!inVendor) continue;
    const product = PRODUCT_LINE.exec(line);
    if (product?.[1] !== undefined && product[2] !== undefined && parseInt(product[1], 16) === productId) {
      names.productName = detached(product[2]);
      break;
    }
  }
  return names;
}

function nextLineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end === -1 ? text.length : end;
}

/** V8 keeps a whole file alive behind a substring of it; a copy lets the 700 KB text go. */
function detached(part: string): string {
  return Buffer.from(part, 'utf8').toString('utf8');
}

/**
 * Names from a usb.ids file, read only when a device type is met for the first time: a
 * parsed copy of the whole database would hold ~3 MB of heap (and ~15 MB of RSS while
 * parsing) in an agent that meets a dozen device types in its life.
 */
export function usbIdsFromFile(path: string): UsbIds {
  const known = new Map<number, UsbNames>();
  return {
    lookup(vendorId: number, productId: number): UsbNames {
      const key = vendorId * 0x10000 + productId;
      const cached = known.get(key);
      if (cached !== undefined) return { ...cached };
      let names: UsbNames = {};
      try {
        names = findUsbNames(readFileSync(path, 'utf8'), vendorId, productId);
      } catch (error) {
        // Removed or unreadable since the agent started (a package upgrade): names then come
        // from the devices' own strings and the catalog, and the next lookup tries again.
        if (isMissingFile(error)) return {};
        throw error;
      }
      if (known.size >= MAX_CACHED_NAMES) known.clear();
      known.set(key, names);
      return { ...names };
    },
  };
}

const opened = new Map<string, UsbIds | null>();

/**
 * The first usb.ids that exists, once per list of paths. Returns null when the PC has none:
 * names then come from the devices' own strings and the catalog.
 */
export function loadUsbIds(paths: readonly string[] = USB_IDS_PATHS): UsbIds | null {
  const key = paths.join('\0');
  const cached = opened.get(key);
  if (cached !== undefined) return cached;
  let found: UsbIds | null = null;
  for (const path of paths) {
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      if (isMissingFile(error)) continue;
      throw error;
    }
    found = usbIdsFromFile(path);
    break;
  }
  opened.set(key, found);
  return found;
}

function isMissingFile(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES';
}

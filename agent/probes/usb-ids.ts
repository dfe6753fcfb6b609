import { readFileSync } from 'node:fs';
import type { UsbNames } from './usb-classify.js';

/**
 * The usb.ids database (linux-usb.org), as shipped by usbutils/hwdata. It is dual-licensed
 * GPL-2.0-or-later OR BSD-3-Clause; we only read the copy the OS installed.
 */
export interface UsbIds {
  lookup(vendorId: number, productId: number): UsbNames;
  readonly vendorCount: number;
}

/** Debian/Ubuntu (usbutils, usb.ids package), Fedora/RHEL (hwdata), older Debian. */
export const USB_IDS_PATHS: readonly string[] = ['/usr/share/misc/usb.ids', '/usr/share/hwdata/usb.ids', '/var/lib/usbutils/usb.ids'];

const VENDOR_LINE = /^([0-9a-fA-F]{4})\s+(.+?)\s*$/;
const PRODUCT_LINE = /^\t([0-9a-fA-F]{4})\s+(.+?)\s*$/;
/** The vendor list ends where the class list ("C 00  (Defined at Interface level)") starts. */
const CLASS_SECTION = /^C [0-9a-fA-F]{2}\s/;

interface VendorRecord {
  name: string;
  products: Map<number, string>;
}

/**
 * Parses the vendor/product part of usb.ids: `vvvv  Vendor` lines, `\tpppp  Product` lines
 * under them; interface lines (two tabs) and comments are skipped; parsing stops at the class
 * section, whose tab-indented lines would otherwise look like products of the last vendor.
 */
export function parseUsbIds(text: string): UsbIds {
  const vendors = new Map<number, VendorRecord>();
  let current: VendorRecord | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (CLASS_SECTION.test(line)) break;
    if (line.startsWith('#') || line.trim() === '') continue;
    const vendor = VENDOR_LINE.exec(line);
    if (vendor?.[1] !== undefined && vendor[2] !== undefined) {
      current = { name: vendor[2], products: new Map() };
      vendors.set(parseInt(vendor[1], 16), current);
      continue;
    }
    const product = PRODUCT_LINE.exec(line);
    if (product?.[1] !== undefined && product[2] !== undefined && current !== undefined) {
      current.products.set(parseInt(product[1], 16), product[2]);
    }
  }
  return {
    vendorCount: vendors.size,
    lookup(vendorId: number, productId: number): UsbNames {
      const record = vendors.get(vendorId);
      if (record === undefined) return {};
      const names: UsbNames = { vendorName: record.name };
      const productName = record.products.get(productId);
      if (productName !== undefined) names.productName = productName;
      return names;
    },
  };
}

const cache = new Map<string, UsbIds | null>();

/**
 * Reads the first usb.ids that exists, once per list of paths (the file is ~700 KB and does
 * not change while the agent runs). Returns null when the PC has none: names then come from
 * the devices' own strings and the catalog.
 */
export function loadUsbIds(paths: readonly string[] = USB_IDS_PATHS): UsbIds | null {
  const key = paths.join('\0');
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  let loaded: UsbIds | null = null;
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) continue;
      throw error;
    }
    loaded = parseUsbIds(text);
    break;
  }
  cache.set(key, loaded);
  return loaded;
}

function isMissingFile(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES';
}

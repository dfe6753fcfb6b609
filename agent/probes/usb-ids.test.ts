import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadUsbIds, parseUsbIds } from './usb-ids.js';

const samplePath = fileURLToPath(new URL('../../test/fixtures/usb/usb.ids.sample', import.meta.url));
const sample = readFileSync(samplePath, 'utf8');

describe('parseUsbIds', () => {
  const ids = parseUsbIds(sample);

  it('finds vendor and product names', () => {
    expect(ids.lookup(0x046d, 0x085e)).toEqual({ vendorName: 'Logitech, Inc.', productName: 'BRIO Ultra HD Webcam' });
    expect(ids.lookup(0x28de, 0x2101)).toEqual({ vendorName: 'Valve Software', productName: 'Watchman Dongle' });
  });

  it('gives the vendor alone when the product is not listed, and nothing for an unknown vendor', () => {
    expect(ids.lookup(0x046d, 0xffff)).toEqual({ vendorName: 'Logitech, Inc.' });
    expect(ids.lookup(0x1234, 0x5678)).toEqual({});
  });

  it('skips interface lines (two tabs) instead of taking them for products', () => {
    expect(ids.lookup(0x28de, 0x0000)).toEqual({ vendorName: 'Valve Software' });
  });

  it('stops at the class section, so later tab-indented lines never become products', () => {
    expect(ids.vendorCount).toBe(7);
    expect(ids.lookup(0xffff, 0x0001)).toEqual({});
    expect(ids.lookup(0x28de, 0x0001)).toEqual({ vendorName: 'Valve Software' });
  });

  it('reads CRLF files the same way', () => {
    expect(parseUsbIds(sample.replace(/\n/g, '\r\n')).lookup(0x0403, 0x6001)).toEqual({
      vendorName: 'Future Technology Devices International, Ltd',
      productName: 'FT232 Serial (UART) IC',
    });
  });
});

describe('loadUsbIds', () => {
  it('reads the first path that exists and caches it', () => {
    const paths = ['/nonexistent/usb.ids', samplePath];
    const first = loadUsbIds(paths);
    expect(first?.lookup(0x0fd9, 0x0066).productName).toBe('Cam Link 4K');
    expect(loadUsbIds(paths)).toBe(first);
  });

  it('returns null when no usb.ids exists', () => {
    expect(loadUsbIds(['/nonexistent/a/usb.ids', '/nonexistent/b/usb.ids'])).toBeNull();
  });
});

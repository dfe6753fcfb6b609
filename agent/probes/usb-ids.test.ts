import { fileURLToPath } from 'node:url';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findUsbNames, loadUsbIds, usbIdsFromFile } from './usb-ids.js';

const samplePath = fileURLToPath(new URL('../../test/fixtures/usb/usb.ids.sample', import.meta.url));
const sample = readFileSync(samplePath, 'utf8');

describe('findUsbNames', () => {
  it('finds vendor and product names', () => {
    expect(findUsbNames(sample, 0x046d, 0x085e)).toEqual({ vendorName: 'Logitech, Inc.', productName: 'BRIO Ultra HD Webcam' });
    expect(findUsbNames(sample, 0x28de, 0x2101)).toEqual({ vendorName: 'Valve Software', productName: 'Watchman Dongle' });
  });

  it('gives the vendor alone when the product is not listed, and nothing for an unknown vendor', () => {
    expect(findUsbNames(sample, 0x046d, 0xffff)).toEqual({ vendorName: 'Logitech, Inc.' });
    expect(findUsbNames(sample, 0x1234, 0x5678)).toEqual({});
  });

  it('skips interface lines (two tabs) instead of taking them for products', () => {
    expect(findUsbNames(sample, 0x28de, 0x0000)).toEqual({ vendorName: 'Valve Software' });
  });

  it('stops at the class section, so later tab-indented lines never become products', () => {
    expect(findUsbNames(sample, 0xffff, 0x0001)).toEqual({});
    expect(findUsbNames(sample, 0x28de, 0x0001)).toEqual({ vendorName: 'Valve Software' });
  });

  it('reads CRLF files the same way', () => {
    expect(findUsbNames(sample.replace(/\n/g, '\r\n'), 0x0403, 0x6001)).toEqual({
      vendorName: 'Future Technology Devices International, Ltd',
      productName: 'FT232 Serial (UART) IC',
    });
  });
});

describe('usbIdsFromFile', () => {
  it('reads the file once per device type and answers repeats from memory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-usbids-'));
    try {
      const path = join(dir, 'usb.ids');
      copyFileSync(samplePath, path);
      const ids = usbIdsFromFile(path);
      expect(ids.lookup(0x0fd9, 0x0066).productName).toBe('Cam Link 4K');
      // The file changes underneath: a known device keeps its name, a new one is read afresh.
      writeFileSync(path, '0fd9  Renamed\n\t0066  Other\n\t0067  New device\n');
      expect(ids.lookup(0x0fd9, 0x0066).productName).toBe('Cam Link 4K');
      expect(ids.lookup(0x0fd9, 0x0067)).toEqual({ vendorName: 'Renamed', productName: 'New device' });
      rmSync(path);
      expect(ids.lookup(0x046d, 0x085e)).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands out copies, so a caller changing its result cannot poison the cache', () => {
    const ids = usbIdsFromFile(samplePath);
    const first = ids.lookup(0x046d, 0x085e);
    first.productName = 'changed';
    expect(ids.lookup(0x046d, 0x085e).productName).toBe('BRIO Ultra HD Webcam');
  });
});

describe('loadUsbIds', () => {
  it('takes the first path that exists and keeps it', () => {
    const paths = ['/nonexistent/usb.ids', samplePath];
    const first = loadUsbIds(paths);
    expect(first?.lookup(0x0fd9, 0x0066).productName).toBe('Cam Link 4K');
    expect(loadUsbIds(paths)).toBe(first);
  });

  it('returns null when no usb.ids exists', () => {
    expect(loadUsbIds(['/nonexistent/a/usb.ids', '/nonexistent/b/usb.ids'])).toBeNull();
  });
});

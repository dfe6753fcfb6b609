import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceSchema } from '../../protocol/index.js';
import { parseAgentConfig } from '../config.js';
import { silentLogger } from '../../protocol/log.js';
import { runProbe, type ProbeContext } from './probe.js';
import { usbDeviceFromInfo } from './usb-classify.js';
import { createUsbProbe, readSysfsStrings, usbInfoFromLibusb, type LibusbDeviceSnapshot, type UsbStrings } from './usb-probe.js';

const context: ProbeContext = { config: parseAgentConfig({}), log: silentLogger };
const noUsbBus = !existsSync('/sys/bus/usb');
const scratch = mkdtempSync(join(tmpdir(), 'avcare-usb-probe-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('createUsbProbe', () => {
  it.skipIf(!noUsbBus)('reports "unavailable" with the reason on a PC without /sys/bus/usb (this machine)', async () => {
    const result = await runProbe(createUsbProbe({ usbIds: null }), context, 5000);
    expect(result.status.source).toBe('usb');
    expect(result.status.state).toBe('unavailable');
    expect(result.status.reason).toContain('/sys/bus/usb is absent');
    expect(result.findings.devices).toEqual([]);
  });

  it('reports "unavailable" for a configured bus path that does not exist', async () => {
    const result = await runProbe(createUsbProbe({ usbIds: null, sysBusUsb: join(scratch, 'missing') }), context, 5000);
    expect(result.status.state).toBe('unavailable');
    expect(result.status.reason).toContain(join(scratch, 'missing'));
  });

  it('lists what libusb sees when the bus path exists, each device schema-valid', async () => {
    const result = await runProbe(createUsbProbe({ usbIds: null, sysBusUsb: scratch }), context, 5000);
    expect(result.status.state).toBe('ok');
    const { getDeviceList } = await import('usb');
    expect(result.findings.devices).toHaveLength(getDeviceList().length);
    for (const device of result.findings.devices) expect(deviceSchema.parse(device)).toEqual(device);
  });

  it('stops when the signal is already aborted', async () => {
    const probe = createUsbProbe({ usbIds: null, sysBusUsb: scratch });
    await expect(probe.run(context, AbortSignal.abort(new Error('cycle cancelled')))).rejects.toThrow('cycle cancelled');
  });
});

describe('usbInfoFromLibusb', () => {
  it('maps the descriptors usb@2 returns (recorded FT232R) to a Device', () => {
    const recorded = JSON.parse(readFileSync(new URL('../../test/fixtures/usb/libusb-ftdi-ft232r.json', import.meta.url), 'utf8')) as { device: LibusbDeviceSnapshot; strings: UsbStrings };
    const device = usbDeviceFromInfo(usbInfoFromLibusb(recorded.device, recorded.strings));
    expect(device).toMatchObject({
      id: 'usb:0403:6001:A900N7DV',
      kind: 'serial-adapter',
      connection: { type: 'usb', bus: 3, portPath: '3-1' },
      usb: { interfaces: [{ number: 0, alternate: 0, class: 255, subClass: 255, protocol: 255 }], manufacturer: 'FTDI' },
    });
  });
});

describe('readSysfsStrings', () => {
  it('reads manufacturer, product and serial files and skips the ones the kernel left out', () => {
    const dir = mkdtempSync(join(scratch, '1-1.4-'));
    writeFileSync(join(dir, 'product'), 'Logitech BRIO\n');
    writeFileSync(join(dir, 'manufacturer'), '\n');
    expect(readSysfsStrings(dir)).toEqual({ product: 'Logitech BRIO' });
  });
});

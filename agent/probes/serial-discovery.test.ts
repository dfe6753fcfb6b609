import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverSerialPorts } from './serial-discovery.js';

describe('discoverSerialPorts', () => {
  let devDir: string;

  beforeEach(async () => {
    // realpath: the temp dir may itself sit behind a symlink (macOS /var -> /private/var).
    devDir = await realpath(await mkdtemp(join(tmpdir(), 'avcare-dev-')));
  });

  afterEach(async () => {
    await rm(devDir, { recursive: true, force: true });
  });

  async function makeNodes(...names: string[]): Promise<void> {
    for (const name of names) await writeFile(join(devDir, name), '');
  }

  async function makeById(name: string, target: string): Promise<void> {
    await mkdir(join(devDir, 'serial', 'by-id'), { recursive: true });
    await symlink(`../../${target}`, join(devDir, 'serial', 'by-id', name));
  }

  it('lists by-id links first and does not list their ttyUSB node again', async () => {
    await makeNodes('ttyUSB0', 'ttyUSB1');
    await makeById('usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0', 'ttyUSB1');
    const ports = await discoverSerialPorts({ devDir });
    expect(ports).toEqual([
      {
        path: join(devDir, 'serial', 'by-id', 'usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0'),
        realPath: join(devDir, 'ttyUSB1'),
        byId: 'usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0',
      },
      { path: join(devDir, 'ttyUSB0'), realPath: join(devDir, 'ttyUSB0') },
    ]);
  });

  it('lists ttyACM and ttyUSB nodes in numeric order and skips other ttys', async () => {
    await makeNodes('ttyUSB10', 'ttyUSB2', 'ttyACM0', 'ttyS0', 'tty1', 'ttyUSB', 'null');
    const ports = await discoverSerialPorts({ devDir });
    expect(ports.map((port) => port.path)).toEqual(['ttyACM0', 'ttyUSB2', 'ttyUSB10'].map((name) => join(devDir, name)));
  });

  it('lists one port once when two by-id links point at it', async () => {
    await makeNodes('ttyACM0');
    await makeById('usb-Arduino_Uno_1234-if00', 'ttyACM0');
    await makeById('usb-Arduino_Uno_1234-if00-alias', 'ttyACM0');
    const ports = await discoverSerialPorts({ devDir });
    expect(ports).toHaveLength(1);
    expect(ports[0]?.byId).toBe('usb-Arduino_Uno_1234-if00');
  });

  it('skips a by-id link whose adapter was unplugged', async () => {
    await makeById('usb-Prolific_gone-if00-port0', 'ttyUSB7');
    expect(await discoverSerialPorts({ devDir })).toEqual([]);
  });

  it('returns an empty list on a PC without serial adapters', async () => {
    expect(await discoverSerialPorts({ devDir })).toEqual([]);
    expect(await discoverSerialPorts({ devDir: join(devDir, 'absent') })).toEqual([]);
  });
});

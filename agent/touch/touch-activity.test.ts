import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Device, InventoryMessage } from '../../protocol/index.js';
import { silentLogger } from '../../protocol/log.js';
import { parseAgentConfig } from '../config.js';
import { AgentDaemon } from '../daemon.js';
import { FaultMonitor } from '../fault-monitor.js';
import { TouchActivity, TouchCounter } from './touch-activity.js';

/** One struct input_event (64-bit): time, type, code, value. */
function event(type: number, code: number, value: number): Buffer {
  const bytes = Buffer.alloc(24);
  bytes.writeBigInt64LE(1_765_000_000n, 0);
  bytes.writeUInt16LE(type, 16);
  bytes.writeUInt16LE(code, 18);
  bytes.writeInt32LE(value, 20);
  return bytes;
}
const SYN = event(0, 0, 0);
/** A finger down at (x, y), moved, and lifted: what hid-multitouch reports. */
function stroke(trackingId: number, x: number, y: number): Buffer {
  return Buffer.concat([event(3, 0x2f, 0), event(3, 0x39, trackingId), event(3, 0x35, x), event(3, 0x36, y), event(1, 0x14a, 1), SYN, event(3, 0x35, x + 40), SYN, event(3, 0x39, -1), event(1, 0x14a, 0), SYN]);
}

describe('counting touches from evdev events', () => {
  it('counts contacts begun, across reads that cut events in half, and keeps no position', () => {
    const counter = new TouchCounter();
    const bytes = Buffer.concat([stroke(17, 1200, 800), stroke(18, 300, 200)]);
    counter.feed(bytes.subarray(0, 100), new Date('2026-12-07T09:00:00Z'));
    counter.feed(bytes.subarray(100), new Date('2026-12-07T09:00:01Z'));
    expect(counter.take()).toBe(2);
    expect(counter.take()).toBe(0);
    expect(counter.lastTouchAt?.toISOString()).toBe('2026-12-07T09:00:01.000Z');
    expect(Object.keys(counter).sort()).toEqual(['contacts', 'downs', 'lastTouchAt', 'pending']);
  });

  it('counts first-finger downs on a single-touch frame that reports no contacts', () => {
    const counter = new TouchCounter();
    counter.feed(Buffer.concat([event(1, 0x14a, 1), event(3, 0, 512), SYN, event(1, 0x14a, 0), SYN, event(1, 0x14a, 1), SYN]), new Date());
    expect(counter.take()).toBe(2);
  });
});

/** A panel's input device: sysfs says input31 has event5; /dev/input/event5 is a FIFO the test writes events into. */
function panelNode(): { sysRoot: string; devRoot: string; write(bytes: Buffer): Promise<void>; close(): Promise<void> } {
  const root = mkdtempSync(join(tmpdir(), 'avcare-touch-'));
  const sysRoot = join(root, 'sys');
  const devRoot = join(root, 'dev');
  mkdirSync(join(sysRoot, 'class', 'input', 'input31', 'event5'), { recursive: true });
  mkdirSync(join(devRoot, 'input'), { recursive: true });
  execFileSync('mkfifo', [join(devRoot, 'input', 'event5')]);
  let writer: Awaited<ReturnType<typeof open>> | undefined;
  return {
    sysRoot,
    devRoot,
    async write(bytes) {
      writer ??= await open(join(devRoot, 'input', 'event5'), 'w');
      await writer.write(bytes);
    },
    async close() {
      await writer?.close();
    },
  };
}

const panel = (): Device => ({
  id: 'usb:1-1.4',
  kind: 'touch-panel',
  name: 'eGalax touch frame',
  connection: { type: 'usb', bus: 1, portPath: '1-1.4' },
  status: 'ok',
  touch: { touchClass: 'touch-screen', maxContacts: 10, driver: 'hid-multitouch', inputDevices: ['input31'], touchInput: true },
});

describe('the touch panels of a running agent', () => {
  it('follows the panel a cycle found and writes the touches since the last cycle into its touch info, counts only', async () => {
    const node = panelNode();
    const activity = new TouchActivity({ sysRoot: node.sysRoot, devRoot: node.devRoot, pollMs: 60_000 });
    try {
      await activity.follow([panel()]);
      await node.write(Buffer.concat([stroke(1, 100, 100), stroke(2, 900, 500), stroke(3, 10, 10)]));
      const devices = [panel()];
      await activity.annotate(devices);
      expect(devices[0]?.touch?.activity).toMatchObject({ touches: 3, lastTouchAt: expect.stringMatching(/^\d{4}-/) as unknown });
      expect(Object.keys(devices[0]?.touch?.activity ?? {}).sort()).toEqual(['lastTouchAt', 'sinceAt', 'touches']);
      const quiet = [panel()];
      await activity.annotate(quiet);
      expect(quiet[0]?.touch?.activity?.touches).toBe(0);
      expect(quiet[0]?.touch?.activity?.lastTouchAt).toBe(devices[0]?.touch?.activity?.lastTouchAt);
    } finally {
      await node.close();
      await activity.stop();
    }
  });

  it('the daemon counts only where a cycle shows a touch panel, and sends the counts with the inventory', async () => {
    const node = panelNode();
    const inventories: InventoryMessage[] = [];
    let started = 0;
    const devices: Device[] = [];
    const config = parseAgentConfig({ probeIntervalSeconds: 5 });
    const daemon = new AgentDaemon({
      config,
      log: silentLogger,
      probes: [{ id: 'usb', run: () => Promise.resolve({ state: 'ok', devices: devices.map((device) => structuredClone(device)) }) }],
      monitor: new FaultMonitor(config, null),
      sink: { inventory: (message) => inventories.push(message), health: () => undefined, fault: () => undefined },
      touchActivity: () => {
        started += 1;
        return Promise.resolve(new TouchActivity({ sysRoot: node.sysRoot, devRoot: node.devRoot, pollMs: 60_000 }));
      },
    });
    try {
      await daemon.probeNow();
      expect(started).toBe(0);
      devices.push(panel());
      await daemon.probeNow();
      await node.write(stroke(7, 5, 5));
      await daemon.probeNow();
      expect(started).toBe(1);
      const last = inventories.at(-1)?.devices.find((device) => device.kind === 'touch-panel');
      expect(last?.touch?.activity?.touches).toBe(1);
    } finally {
      await node.close();
      await daemon.stop();
    }
  });
});

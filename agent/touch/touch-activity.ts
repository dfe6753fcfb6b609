/**
 * Whether touches reach the PC from a touch panel: the evdev events of its input device, counted
 * and never kept. Only how many contacts began and when the last one did leave this file; no
 * position is ever read into anything that outlives one buffer. It answers "the board does not
 * respond": no touches since 09:12 is the frame or its cable; touches arriving is the software.
 * The service user reads /dev/input through the `input` group install.sh gives it.
 */
import { constants, type promises as fsPromises } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Device } from '../../protocol/index.js';
import { whenPresent } from '../probes/sysfs.js';

/** struct input_event on 64-bit Linux: timeval (16 bytes), type u16, code u16, value s32. */
const EVENT_SIZE = 24;
const EV_KEY = 0x01;
const EV_ABS = 0x03;
const BTN_TOUCH = 0x14a;
const ABS_MT_TRACKING_ID = 0x39;

/** Touches counted from a stream of evdev events: new multi-touch contacts, or first-finger downs on a single-touch frame. */
export class TouchCounter {
  private contacts = 0;
  private downs = 0;
  private pending = Buffer.alloc(0);
  lastTouchAt: Date | null = null;

  feed(bytes: Buffer, at: Date): void {
    const all = this.pending.length > 0 ? Buffer.concat([this.pending, bytes]) : bytes;
    const whole = all.length - (all.length % EVENT_SIZE);
    let touched = false;
    for (let offset = 0; offset < whole; offset += EVENT_SIZE) {
      const type = all.readUInt16LE(offset + 16);
      const code = all.readUInt16LE(offset + 18);
      const value = all.readInt32LE(offset + 20);
      if (type === EV_ABS && code === ABS_MT_TRACKING_ID && value >= 0) {
        this.contacts += 1;
        touched = true;
      } else if (type === EV_KEY && code === BTN_TOUCH && value === 1) {
        this.downs += 1;
        touched = true;
      }
    }
    this.pending = Buffer.from(all.subarray(whole));
    if (touched) this.lastTouchAt = at;
  }

  /** Touches since the last take, and starts counting again. */
  take(): number {
    const touches = this.contacts > 0 ? this.contacts : this.downs;
    this.contacts = 0;
    this.downs = 0;
    return touches;
  }
}

interface Followed {
  handle: fsPromises.FileHandle;
  counter: TouchCounter;
  since: Date;
}

export interface TouchActivityOptions {
  sysRoot?: string;
  devRoot?: string;
  /** How often the input devices are read; the kernel holds what arrives between (evdev buffers per reader). */
  pollMs?: number;
  now?: () => Date;
}

/**
 * Follows the input devices of the touch panels a cycle found. Each device is opened non-blocking
 * and read on a timer, so no thread waits on a panel nobody touches.
 */
export class TouchActivity {
  private readonly followed = new Map<string, Followed>();
  private readonly timer: NodeJS.Timeout;
  private readonly sysRoot: string;
  private readonly devRoot: string;
  private readonly now: () => Date;
  private reading: Promise<void> | null = null;

  constructor(options: TouchActivityOptions = {}) {
    this.sysRoot = options.sysRoot ?? '/sys';
    this.devRoot = options.devRoot ?? '/dev';
    this.now = options.now ?? (() => new Date());
    this.timer = setInterval(() => void this.poll(), options.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Starts following the touch panels' input devices this cycle shows and stops those it no longer does. */
  async follow(devices: readonly Device[]): Promise<void> {
    const wanted = new Set(devices.flatMap((device) => (device.kind === 'touch-panel' ? (device.touch?.inputDevices ?? []) : [])));
    for (const [input, followed] of this.followed) {
      if (wanted.has(input)) continue;
      this.followed.delete(input);
      await followed.handle.close().catch(() => undefined);
    }
    for (const input of wanted) {
      if (this.followed.has(input)) continue;
      const node = await eventNode(this.sysRoot, this.devRoot, input);
      if (!node) continue;
      try {
        this.followed.set(input, { handle: await open(node, constants.O_RDONLY | constants.O_NONBLOCK), counter: new TouchCounter(), since: this.now() });
      } catch {
        // No read access (the service user is not in group input): the panel is reported without counts.
      }
    }
  }

  /** The touches each panel saw since the last call, written into its touch info. */
  async annotate(devices: Device[]): Promise<void> {
    await this.poll();
    const now = this.now();
    for (const device of devices) {
      if (device.kind !== 'touch-panel' || !device.touch) continue;
      const followed = device.touch.inputDevices.map((input) => this.followed.get(input)).filter((entry): entry is Followed => entry !== undefined);
      if (followed.length === 0) continue;
      const since = new Date(Math.min(...followed.map((entry) => entry.since.getTime())));
      const last = followed.map((entry) => entry.counter.lastTouchAt).filter((at): at is Date => at !== null).sort((a, b) => b.getTime() - a.getTime())[0];
      device.touch.activity = { touches: followed.reduce((sum, entry) => sum + entry.counter.take(), 0), sinceAt: since.toISOString(), lastTouchAt: last ? last.toISOString() : null };
      for (const entry of followed) entry.since = now;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reading;
    await Promise.allSettled([...this.followed.values()].map((followed) => followed.handle.close()));
    this.followed.clear();
  }

  private poll(): Promise<void> {
    this.reading ??= this.readAll().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async readAll(): Promise<void> {
    const buffer = Buffer.alloc(EVENT_SIZE * 256);
    for (const [input, followed] of this.followed) {
      try {
        for (;;) {
          const { bytesRead } = await followed.handle.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          followed.counter.feed(buffer.subarray(0, bytesRead), this.now());
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        // The panel went away (ENODEV): the next cycle follows it again if it comes back.
        this.followed.delete(input);
        await followed.handle.close().catch(() => undefined);
      } finally {
        // What was read held positions: it is overwritten, never kept.
        buffer.fill(0);
      }
    }
  }
}

/** /sys/class/input/input31/event5 → /dev/input/event5. */
async function eventNode(sysRoot: string, devRoot: string, input: string): Promise<string | null> {
  if (!/^input\d+$/.test(input)) return null;
  const names = (await whenPresent(() => readdir(join(sysRoot, 'class', 'input', input)))) ?? [];
  const event = names.find((name) => /^event\d+$/.test(name));
  return event ? join(devRoot, 'input', event) : null;
}

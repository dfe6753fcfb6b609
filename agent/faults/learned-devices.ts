import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { deviceKindSchema, type Device, type DeviceKind } from '../../protocol/index.js';
import { AvcareError } from '../../protocol/index.js';
import { hex4, type Expectation } from './expected-devices.js';
import { compareCodeUnits } from '../code-unit-order.js';

/**
 * Devices the room has had, so that "the room had a camera yesterday" is noticed without anyone
 * writing an expected inventory. Only USB devices are learned: configured serial and PJLink
 * devices are always expected, and a hub or an unknown gadget says nothing about teaching.
 */
const LEARNABLE_KINDS: ReadonlySet<DeviceKind> = new Set([
  'camera', 'microphone', 'speaker', 'speakerphone', 'headset', 'vr-headset', 'vr-controller', 'vr-tracking', 'capture-card', 'serial-adapter',
]);

const learnedDeviceSchema = z.object({
  key: z.string(),
  kind: deviceKindSchema,
  name: z.string(),
  vendorId: z.number().int(),
  productId: z.number().int(),
  serialNumber: z.string().optional(),
  firstSeenAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
});
export type LearnedDevice = z.infer<typeof learnedDeviceSchema>;
const learnedFileSchema = z.object({ version: z.literal(1), devices: z.array(learnedDeviceSchema) });

export class LearnedDevices {
  private readonly devices = new Map<string, LearnedDevice>();
  /** Set when the state file was damaged and moved aside; the caller logs it. */
  readonly loadWarning: string | null = null;

  constructor(private readonly file: string | null) {
    if (file) this.loadWarning = this.load(file);
  }

  /** Records what is present now; returns true when something new was learned. */
  observe(devices: readonly Device[], now: Date): boolean {
    let changed = false;
    for (const device of devices) {
      if (!device.usb || !LEARNABLE_KINDS.has(device.kind)) continue;
      const key = learnedKey(device);
      const existing = this.devices.get(key);
      if (existing) {
        existing.lastSeenAt = now.toISOString();
        existing.kind = device.kind;
        continue;
      }
      const learned: LearnedDevice = {
        key,
        kind: device.kind,
        name: device.name,
        vendorId: device.usb.vendorId,
        productId: device.usb.productId,
        firstSeenAt: now.toISOString(),
        lastSeenAt: now.toISOString(),
      };
      if (device.usb.serialNumber) learned.serialNumber = device.usb.serialNumber;
      this.devices.set(key, learned);
      changed = true;
    }
    return changed;
  }

  /** Learned devices seen within the window become expectations; older ones are forgotten. */
  expectations(now: Date, forgetAfterDays: number): Expectation[] {
    const cutoff = now.getTime() - forgetAfterDays * 86_400_000;
    return [...this.devices.values()]
      .filter((device) => Date.parse(device.lastSeenAt) >= cutoff)
      .map((device) => {
        const expectation: Expectation = {
          kind: device.kind,
          label: device.name,
          source: 'usb',
          vendorId: device.vendorId,
          productId: device.productId,
          origin: 'learned',
          lastSeenAt: device.lastSeenAt,
        };
        if (device.serialNumber !== undefined) expectation.serialNumber = device.serialNumber;
        return expectation;
      });
  }

  list(): LearnedDevice[] {
    return [...this.devices.values()].sort((a, b) => compareCodeUnits(a.key, b.key));
  }

  /** Forgets one device by key (as listed); returns how many were removed. */
  forget(key: string): number {
    return this.devices.delete(key) ? 1 : 0;
  }

  forgetAll(): number {
    const count = this.devices.size;
    this.devices.clear();
    return count;
  }

  /** Written to a temporary file and renamed, so a power cut leaves the old or the new file, never half of one. */
  save(): void {
    if (!this.file) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.tmp`;
      writeFileSync(temporary, JSON.stringify({ version: 1, devices: this.list() }, null, 2));
      renameSync(temporary, this.file);
    } catch (error) {
      throw new AvcareError('STATE_UNWRITABLE', `cannot write ${this.file}: ${(error as Error).message}`, { file: this.file }, { cause: error });
    }
  }

  private load(file: string): string | null {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let parsed: z.infer<typeof learnedFileSchema>;
    try {
      parsed = learnedFileSchema.parse(JSON.parse(text));
    } catch (error) {
      // A damaged state file must not stop the agent: move it aside so nothing is silently overwritten, then start afresh.
      const aside = `${file}.corrupt-${Date.now()}`;
      renameSync(file, aside);
      return `learned device list ${file} was unreadable (${(error as Error).message}); moved to ${aside}, starting afresh`;
    }
    for (const device of parsed.devices) this.devices.set(device.key, device);
    return null;
  }
}

/** One physical model+serial; devices without a serial are told apart only by model. */
export function learnedKey(device: Device): string {
  const usb = device.usb;
  if (!usb) return device.id;
  return `usb:${hex4(usb.vendorId)}:${hex4(usb.productId)}${usb.serialNumber ? `:${usb.serialNumber}` : ''}`;
}

import type { Device } from '../../protocol/index.js';
import { ConnectionLog, type ConnectionEvent } from './unstable-connection.js';

/**
 * A VR controller's link to its headset as connection events: a controller read connected in one
 * cycle and not in the next has disconnected. Hysteresis would hide a link that comes and goes
 * (never two cycles the same), so the changes are counted instead, like a USB port's.
 */
export class ControllerLinks {
  private readonly last = new Map<string, boolean>();
  private readonly log = new ConnectionLog(500);

  /** Records the changes one cycle shows; a controller never seen before counts as a connect only if it is connected. */
  observe(devices: readonly Device[], at: Date): void {
    for (const device of devices) {
      if (device.kind !== 'vr-headset' || !device.vr?.authorized) continue;
      for (const controller of device.vr.controllers) {
        if (controller.connected === null) continue;
        const key = controllerKey(device.id, controller.side);
        const before = this.last.get(key);
        this.last.set(key, controller.connected);
        if (before === controller.connected || (before === undefined && controller.connected)) continue;
        this.log.record({ port: key, type: controller.connected ? 'connect' : 'disconnect', atMs: at.getTime(), label: controller.name });
      }
    }
  }

  events(): readonly ConnectionEvent[] {
    return this.log.all();
  }
}

/** One controller of one headset: the key its faults and events share. */
export function controllerKey(headsetId: string, side: string): string {
  return `${headsetId}/controller-${side}`;
}

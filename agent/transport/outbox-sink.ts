import type { FaultMessage, HealthMessage, InventoryMessage, MeasurementMessage } from '../../protocol/index.js';
import type { AgentSink } from '../agent-sink.js';
import type { Outbox } from './outbox.js';

export interface OutboxSinkOptions {
  outbox: Outbox;
  /** Called after each enqueue, so the transport publishes at once instead of polling. */
  onEnqueued?: () => void;
}

/**
 * The daemon's events into the durable outbox: faults and health samples as they come, an
 * inventory only when the devices or their statuses changed (it is retained: the broker keeps the
 * room's current inventory for whoever subscribes later). The first inventory after a start is
 * always sent, since the process does not know what the cloud last saw.
 *
 * Enqueue errors (a full disk) propagate: the tee sink logs them without stopping the console.
 */
export class OutboxSink implements AgentSink {
  private lastInventory: string | undefined;

  constructor(private readonly options: OutboxSinkOptions) {}

  inventory(message: InventoryMessage): void {
    const fingerprint = inventoryFingerprint(message);
    if (fingerprint === this.lastInventory) return;
    this.enqueue(message, true);
    this.lastInventory = fingerprint;
  }

  health(message: HealthMessage): void {
    this.enqueue(message, false);
  }

  fault(message: FaultMessage): void {
    this.enqueue(message, false);
  }

  measurement(message: MeasurementMessage): void {
    this.enqueue(message, false);
  }

  private enqueue(message: InventoryMessage | HealthMessage | FaultMessage | MeasurementMessage, retain: boolean): void {
    this.options.outbox.enqueue(message, { retain });
    this.options.onEnqueued?.();
  }
}

/** Device ids with their statuses, order-independent: what makes an inventory worth sending again. */
export function inventoryFingerprint(message: InventoryMessage): string {
  return message.devices
    .map((device) => `${device.id}\u0000${device.status}`)
    .sort()
    .join('\u0001');
}

import type { Device, FaultMessage, HealthMessage, InventoryMessage, MeasurementMessage } from '../protocol/index.js';

/** Where the daemon's events go: the console, the log, the outbox, the shared daemon state. */
export interface AgentSink {
  inventory(message: InventoryMessage, change: InventoryChange): void;
  health(message: HealthMessage): void;
  fault(message: FaultMessage): void;
  /** A test's result (network, A/V sync); sinks that have nothing to do with it leave it out. */
  measurement?(message: MeasurementMessage): void;
}

export interface InventoryChange {
  attached: Device[];
  detached: Device[];
  /** Devices whose status changed, with the status they had before. */
  changed: Array<{ device: Device; previous: Device['status'] }>;
}

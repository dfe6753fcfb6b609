import { randomUUID } from 'node:crypto';
import {
  agentMessageSchema,
  SCHEMA_VERSION,
  type AgentMessage,
  type Device,
  type FaultMessage,
  type HealthMessage,
  type InventoryMessage,
  type MeasurementMessage,
  type OutboxStats,
  type StatusMessage,
} from '../../protocol/index.js';
import type { AcceptedEvent } from '../../cloud/store/store.js';
import { okSources, systemSnapshot, usbDevice } from '../helpers/device-factory.js';

/** A fixed clock for store tests: minute offsets from one instant, so the expected values are exact. */
export const T0 = Date.parse('2025-03-03T08:00:00.000Z');
export const minutes = (offset: number): string => new Date(T0 + offset * 60_000).toISOString();

export interface Sender {
  schoolId: string;
  roomId: string;
  agentId: string;
}

interface Header {
  at: string;
  seq?: number;
  eventId?: string;
}

/**
 * Messages from one agent, each parsed with agentMessageSchema, so the store is fed exactly what
 * the collector's gate lets through.
 */
export function messagesFrom(sender: Sender) {
  const header = ({ at, seq, eventId }: Header) => ({
    schemaVersion: SCHEMA_VERSION,
    eventId: eventId ?? randomUUID(),
    ...sender,
    at,
    ...(seq === undefined ? {} : { seq }),
  });
  return {
    status(state: StatusMessage['state'], options: Header & { reason?: string; agentVersion?: string }): StatusMessage {
      const { reason, agentVersion = '0.1.0', ...rest } = options;
      return parse<StatusMessage>({ ...header(rest), type: 'status', state, agentVersion, ...(reason === undefined ? {} : { reason }) });
    },
    health(options: Header & { cpuLoad?: number; memoryAvailable?: number; diskUse?: number; cpuTemperature?: number | null; outbox?: OutboxStats }): HealthMessage {
      const { cpuLoad = 10, memoryAvailable = 4e9, diskUse = 40, cpuTemperature = null, outbox, ...rest } = options;
      const system = systemSnapshot({
        cpu: { cores: 4, loadPercent: cpuLoad },
        memory: { totalBytes: 8e9, availableBytes: memoryAvailable },
        disks: [
          { mount: '/', fsType: 'ext4', sizeBytes: 100e9, usedBytes: 10e9, usePercent: 10 },
          { mount: '/home', fsType: 'ext4', sizeBytes: 100e9, usedBytes: 40e9, usePercent: diskUse },
        ],
        cpuTemperatureC: cpuTemperature,
      });
      return parse<HealthMessage>({ ...header(rest), type: 'health', system, ...(outbox === undefined ? {} : { outbox }) });
    },
    inventory(options: Header & { devices?: Device[] }): InventoryMessage {
      const { devices = [usbDevice()], ...rest } = options;
      return parse<InventoryMessage>({ ...header(rest), type: 'inventory', devices, sources: okSources('usb') });
    },
    fault(
      state: FaultMessage['state'],
      options: Header & { code?: FaultMessage['code']; deviceId?: string | null; message?: string; severity?: FaultMessage['severity']; evidence?: Record<string, unknown>; firstSeenAt?: string },
    ): FaultMessage {
      const { code = 'DEVICE_MISSING', deviceId = 'expected:usb:camera', message = 'front camera is missing', severity = 'urgent', evidence = { expected: { kind: 'camera' } }, firstSeenAt, ...rest } = options;
      // As the agent sends it: the message also as its catalog key and parameters.
      const text = code === 'DEVICE_MISSING' ? { messageKey: 'faults.DEVICE_MISSING.config', params: { label: 'front camera' } } : {};
      return parse<FaultMessage>({
        ...header(rest),
        type: 'fault',
        state,
        code,
        category: 'hardware',
        severity,
        deviceId,
        message,
        ...text,
        evidence,
        firstSeenAt: firstSeenAt ?? rest.at,
      });
    },
    measurement(options: Header & { value?: number }): MeasurementMessage {
      const { value = 31, ...rest } = options;
      return parse<MeasurementMessage>({ ...header(rest), type: 'measurement', name: 'av_sync_offset_ms', value, unit: 'ms', deviceId: null });
    },
  };
}

function parse<M extends AgentMessage>(value: unknown): M {
  return agentMessageSchema.parse(value) as M;
}

/** As the collector hands it over; received a second after it was sent unless a test says otherwise. */
export function accepted(message: AgentMessage, receivedAt = new Date(Date.parse(message.at) + 1000)): AcceptedEvent {
  return { message, receivedAt };
}

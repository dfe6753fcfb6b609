import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, type FaultMessage, type HealthMessage, type InventoryMessage, type MeasurementMessage, type ReportMessage } from '../../protocol/index.js';
import { okSources, systemSnapshot, usbDevice } from '../helpers/device-factory.js';

/** Valid agent messages for transport tests, one agent in one room. */
export const IDENTITY = { agentId: 'pc-01', schoolId: 'sch-1', roomId: 'r101' } as const;

function header(at = new Date()) {
  return { schemaVersion: SCHEMA_VERSION, eventId: randomUUID(), ...IDENTITY, at: at.toISOString() };
}

export function health(loadPercent = 10): HealthMessage {
  return { ...header(), type: 'health', system: systemSnapshot({ cpu: { cores: 4, loadPercent } }) };
}

export function fault(state: FaultMessage['state'] = 'raised'): FaultMessage {
  const at = new Date().toISOString();
  return {
    ...header(),
    type: 'fault',
    state,
    code: 'DEVICE_MISSING',
    category: 'hardware',
    severity: 'urgent',
    deviceId: null,
    message: 'front camera is missing',
    evidence: {},
    firstSeenAt: at,
  };
}

export function inventory(devices = [usbDevice()]): InventoryMessage {
  return { ...header(), type: 'inventory', devices, sources: okSources('usb') };
}

export function measurement(value = 30): MeasurementMessage {
  return { ...header(), type: 'measurement', name: 'av_sync_offset_ms', value, unit: 'ms', deviceId: null };
}

export function report(text = 'the projector flickers'): ReportMessage {
  return {
    ...header(),
    type: 'report',
    text,
    bundle: { inventory: [usbDevice()], sources: okSources('usb'), system: systemSnapshot(), recentHealth: [], openFaults: [], faultsFrom: 'probe', logExcerpt: [], truncated: false },
  };
}

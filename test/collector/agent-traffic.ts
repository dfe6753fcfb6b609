import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, topicFor, type AgentMessage, type MessageKind } from '../../protocol/index.js';
import { okSources, systemSnapshot, usbDevice } from '../helpers/device-factory.js';

/** Who sends: the three ids a topic and a message header carry. */
export interface Sender {
  schoolId: string;
  roomId: string;
  agentId: string;
}

export const SENDER: Sender = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };

/** A valid message of each kind, as an agent sends it. */
export function validMessage(kind: MessageKind, sender: Sender = SENDER, seq?: number): AgentMessage {
  const at = new Date().toISOString();
  const header = { schemaVersion: SCHEMA_VERSION, eventId: randomUUID(), ...sender, at, ...(seq === undefined ? {} : { seq }) };
  switch (kind) {
    case 'inventory':
      return { ...header, type: 'inventory', devices: [usbDevice()], sources: okSources('usb') };
    case 'health':
      return { ...header, type: 'health', system: systemSnapshot(), outbox: { pending: 0, droppedHealth: 0, droppedOther: 0, droppedFaults: 0 } };
    case 'fault':
      return {
        ...header,
        type: 'fault',
        state: 'raised',
        code: 'DEVICE_MISSING',
        category: 'hardware',
        severity: 'urgent',
        deviceId: null,
        message: 'front camera is missing',
        evidence: { expected: { kind: 'camera' } },
        firstSeenAt: at,
      };
    case 'measurement':
      return { ...header, type: 'measurement', name: 'av_sync_offset_ms', value: 31, unit: 'ms', deviceId: null };
    case 'status':
      return { ...header, type: 'status', state: 'online', agentVersion: '0.1.0' };
    case 'report':
      return {
        ...header,
        type: 'report',
        text: 'the projector flickers',
        reporter: 'teacher-li',
        bundle: { inventory: [usbDevice()], sources: okSources('usb'), system: systemSnapshot(), recentHealth: [], openFaults: [], faultsFrom: 'probe', logExcerpt: [], truncated: false },
      };
  }
}

export function topicOf(message: AgentMessage): string {
  return topicFor({ school: message.schoolId, room: message.roomId, agent: message.agentId, kind: message.type });
}

export function payloadOf(message: unknown): Buffer {
  return Buffer.from(JSON.stringify(message));
}

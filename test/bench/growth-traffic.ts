import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, type AgentMessage, type FaultMessage, type HealthMessage, type InventoryMessage } from '../../protocol/index.js';
import type { AcceptedEvent } from '../../cloud/store/store.js';
import type { Sender } from '../store/store-messages.js';

/**
 * A fleet's traffic at the rates a school sees, minute by minute: every PC sends health each
 * minute, its inventory once a day (when a device changes), raises a fault 0.1 times an hour and
 * clears it ten minutes later, and runs a network test every 30 minutes (one PC per room).
 * Deterministic, so two runs and two databases receive the same messages.
 */
export const GROWTH_RATES = {
  healthPerHour: 60,
  inventoryPerDay: 1,
  faultRaisesPerHour: 0.1,
  faultClearAfterMinutes: 10,
  networkTestsPerHour: 2,
} as const;

type Header = Pick<AgentMessage, 'schemaVersion' | 'eventId' | 'agentId' | 'schoolId' | 'roomId' | 'at' | 'seq'>;

const MINUTES_PER_DAY = 1440;
/** Agent i raises in minute m when (7i + m) is a multiple of this: 0.1 raises per agent and hour. */
const RAISE_PERIOD = 60 / GROWTH_RATES.faultRaisesPerHour;
const NETWORK_PERIOD = 60 / GROWTH_RATES.networkTestsPerHour;

/** What a network test reports, at the size the agent sends (details of the WebRTC loopback). */
function networkDetails(index: number): Record<string, unknown> {
  return {
    status: 'done',
    trigger: 'schedule',
    wallMs: 12_400 + (index % 900),
    usage: { cpuMs: 2_310, maxRssBytes: 61_000_000 },
    result: {
      test: 'network',
      verdict: index % 11 === 0 ? 'below-targets' : 'good',
      quality: { mos: 4.1 - (index % 5) / 10, rttMs: 38 + (index % 20), jitterMs: 4.2, lossPercent: (index % 7) / 10 },
      upstream: { bitrateKbps: 2_480, packetsSent: 3_720, packetsLost: index % 9, framesPerSecond: 29.7, resolution: '1280x720' },
      downstream: { bitrateKbps: 2_455, packetsReceived: 3_711, jitterBufferMs: 41, freezeCount: 0, framesDecoded: 356 },
      path: { relay: 'reflector-1', candidateType: 'srflx', protocol: 'udp', localNetwork: 'ethernet' },
      targets: { rttMs: 150, jitterMs: 30, lossPercent: 1, mos: 3.6 },
    },
  };
}

function health(header: Header, index: number, agentId: string): HealthMessage {
  return {
    ...header,
    type: 'health',
    system: {
      os: { platform: 'win32', distro: 'Microsoft Windows 10 Pro', release: '10.0.19045', arch: 'x64', hostname: agentId },
      cpu: { cores: 4, loadPercent: 5 + (index % 30) },
      memory: { totalBytes: 8_000_000_000, availableBytes: 5_000_000_000 - (index % 1000) * 1_000_000 },
      disks: [{ mount: 'C:', fsType: 'NTFS', sizeBytes: 256e9, usedBytes: 90e9, usePercent: 35 }],
      cpuTemperatureC: 48,
      network: [{ iface: 'Ethernet', up: true, speedMbps: 1000, virtual: false }],
      uptimeSeconds: 3600 + index * 60,
      agentVersion: '0.9.0',
    },
    outbox: { pending: 0, droppedHealth: 0, droppedOther: 0, droppedFaults: 0 },
  };
}

function fault(header: Header, state: 'raised' | 'cleared', firstSeenAt: string): FaultMessage {
  return {
    ...header,
    type: 'fault',
    state,
    code: 'DEVICE_MISSING',
    category: 'hardware',
    severity: 'urgent',
    deviceId: 'expected:usb:camera',
    message: 'front camera is missing',
    messageKey: 'faults.DEVICE_MISSING.config',
    params: { label: 'front camera' },
    evidence: { expected: { kind: 'camera', make: 'Logitech', model: 'C930e' }, seenOnBus: [] },
    firstSeenAt,
  };
}

function inventory(header: Header): InventoryMessage {
  const device = (kind: InventoryMessage['devices'][number]['kind'], id: string, name: string): InventoryMessage['devices'][number] => ({
    id,
    kind,
    name,
    make: 'Logitech',
    model: name,
    connection: { type: 'usb', bus: 1, portPath: id.slice(-5) },
    status: 'ok',
  });
  return {
    ...header,
    type: 'inventory',
    devices: [device('camera', 'usb:046d:0843:1-1.4', 'C930e'), device('speakerphone', 'usb:046d:0867:1-1.2', 'Group'), device('microphone', 'usb:046d:0868:1-1.3', 'Mic Pod')],
    sources: [
      { source: 'usb', state: 'ok', durationMs: 12 },
      { source: 'serial', state: 'ok', durationMs: 3 },
    ],
  };
}

/** The messages of one simulated minute (`minute` counted from the window's start at `startMs`), in send order. */
export function minuteOfTraffic(senders: readonly Sender[], seqs: number[], startMs: number, minute: number): AcceptedEvent[] {
  const sentAt = startMs + minute * 60_000;
  const events: AcceptedEvent[] = [];
  senders.forEach((sender, index) => {
    const at = new Date(sentAt + (index % 60) * 1000);
    const header = (): Header => {
      seqs[index] = (seqs[index] ?? 0) + 1;
      return { schemaVersion: SCHEMA_VERSION, eventId: randomUUID(), ...sender, at: at.toISOString(), seq: seqs[index] };
    };
    const receivedAt = new Date(at.getTime() + 200);
    events.push({ message: health(header(), minute, sender.agentId), receivedAt });
    // Each PC at its own minute of the day, spread over the day (977 and 1440 are coprime).
    if ((977 * index + minute) % MINUTES_PER_DAY === 0) events.push({ message: inventory(header()), receivedAt });
    if ((7 * index + minute) % RAISE_PERIOD === 0) events.push({ message: fault(header(), 'raised', at.toISOString()), receivedAt });
    const raisedMinute = minute - GROWTH_RATES.faultClearAfterMinutes;
    if (raisedMinute >= 0 && (7 * index + raisedMinute) % RAISE_PERIOD === 0) {
      events.push({ message: fault(header(), 'cleared', new Date(at.getTime() - GROWTH_RATES.faultClearAfterMinutes * 60_000).toISOString()), receivedAt });
    }
    if ((index + minute) % NETWORK_PERIOD === 0) {
      events.push({ message: { ...header(), type: 'measurement', name: 'network', value: 4.1, unit: 'MOS', deviceId: null, details: networkDetails(index + minute) }, receivedAt });
    }
  });
  return events;
}

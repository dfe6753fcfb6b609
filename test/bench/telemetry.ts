import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, topicFor, type AgentMessage, type Device } from '../../protocol/index.js';

/**
 * Simulated classrooms: realistic agent messages that pass the collector's gate. The mix follows
 * what a fleet sends: mostly health samples, some inventories, faults and measurements.
 */
export interface SimulatedAgent {
  school: string;
  room: string;
  agent: string;
  seq: number;
}

export function simulatedFleet(agents: number, roomsPerSchool = 40): SimulatedAgent[] {
  return Array.from({ length: agents }, (_, index) => ({
    school: `sch-${String(Math.floor(index / roomsPerSchool)).padStart(4, '0')}`,
    room: `r${String((index % roomsPerSchool) + 101)}`,
    agent: `pc-${String(index).padStart(5, '0')}`,
    seq: 0,
  }));
}

const camera: Device = {
  id: 'usb:046d:0843:1-1.4',
  kind: 'camera',
  name: 'Logitech Webcam C930e',
  make: 'Logitech',
  model: 'C930e',
  connection: { type: 'usb', bus: 1, portPath: '1-1.4' },
  status: 'ok',
};

export function nextMessage(agent: SimulatedAgent, index: number, now = new Date()): { topic: string; payload: string; message: AgentMessage } {
  agent.seq += 1;
  const header = { schemaVersion: SCHEMA_VERSION, eventId: randomUUID(), agentId: agent.agent, schoolId: agent.school, roomId: agent.room, at: now.toISOString(), seq: agent.seq };
  const pick = index % 20;
  let message: AgentMessage;
  if (pick === 0) {
    message = { ...header, type: 'inventory', devices: [camera], sources: [{ source: 'usb', state: 'ok', durationMs: 12 }] };
  } else if (pick === 1) {
    message = {
      ...header,
      type: 'fault',
      state: index % 40 === 1 ? 'raised' : 'cleared',
      code: 'DEVICE_MISSING',
      category: 'hardware',
      severity: 'urgent',
      deviceId: 'expected:usb:camera',
      message: 'front camera is missing',
      evidence: { expected: { kind: 'camera' } },
      firstSeenAt: now.toISOString(),
    };
  } else if (pick === 2) {
    message = { ...header, type: 'measurement', name: 'av_sync_offset_ms', value: 31 + (index % 7), unit: 'ms', deviceId: camera.id };
  } else {
    message = {
      ...header,
      type: 'health',
      system: {
        os: { platform: 'linux', distro: 'Ubuntu', release: '22.04', arch: 'x64', hostname: agent.agent },
        cpu: { cores: 4, loadPercent: 5 + (index % 30) },
        memory: { totalBytes: 8_000_000_000, availableBytes: 5_000_000_000 - (index % 1000) * 1_000_000 },
        disks: [{ mount: '/', fsType: 'ext4', sizeBytes: 256e9, usedBytes: 90e9, usePercent: 35 }],
        cpuTemperatureC: 48,
        network: [{ iface: 'eth0', up: true, speedMbps: 1000, virtual: false }],
        uptimeSeconds: 3600 + index,
        agentVersion: '0.1.0',
      },
      outbox: { pending: 0, droppedHealth: 0, droppedOther: 0, droppedFaults: 0 },
    };
  }
  return { topic: topicFor({ school: agent.school, room: agent.room, agent: agent.agent, kind: message.type }), payload: JSON.stringify(message), message };
}

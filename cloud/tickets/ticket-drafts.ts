import { untrustedText } from '../../protocol/index.js';
import type { AgentAction, TicketDevice } from './ticket-store.js';

/** The device a fault names, from the fault's evidence or else the agent's inventory. */
export function ticketDevice(deviceId: string | null, evidence: Record<string, unknown>, inventory: readonly Record<string, unknown>[]): TicketDevice | null {
  if (deviceId === null) return null;
  const fromEvidence = asRecord(evidence.device);
  const fromInventory = inventory.find((device) => device.id === deviceId);
  const source = fromEvidence ?? fromInventory ?? asRecord(evidence.expected);
  return {
    id: deviceId,
    kind: text(source?.kind),
    name: text(source?.name),
    make: text(source?.make),
    model: text(source?.model),
    serialNumber: text(source?.serialNumber),
  };
}

/**
 * What the agent already tried, as it reported it in the fault's evidence (`actions`: re-probe, USB
 * reset, VISCA re-init, each with its result), so the engineer does not ask the school again.
 * Anything malformed is left out, not guessed.
 */
export function agentActions(evidence: Record<string, unknown>): AgentAction[] {
  const actions = evidence.actions;
  if (!Array.isArray(actions)) return [];
  return actions.slice(0, 20).flatMap((entry: unknown) => {
    const action = asRecord(entry);
    const name = text(action?.action);
    const result = text(action?.result);
    return name === null || result === null ? [] : [{ action: name, at: text(action?.at), result }];
  });
}

export interface FaultDescriptionInput {
  title: string;
  message: string;
  schoolId: string;
  roomId: string;
  agentId: string;
  device: TicketDevice | null;
  firstSeenAt: number;
  timeZone: string;
}

/** The text a support engineer reads first: what, where, which device, since when. */
export function describeFault(input: FaultDescriptionInput): string {
  const lines = [`${input.title}: ${input.message}`, `Where: school ${input.schoolId}, room ${input.roomId}, classroom PC ${input.agentId}.`];
  if (input.device) {
    const device = input.device;
    const identity = [device.make, device.model].filter((part) => part !== null).join(' ') || device.name || device.id;
    const serial = device.serialNumber === null ? '' : `, serial ${device.serialNumber}`;
    lines.push(`Device: ${device.kind ?? 'device'} ${identity}${serial} (${device.id}).`);
  }
  lines.push(`First seen by the agent: ${localTime(input.firstSeenAt, input.timeZone)}.`);
  return lines.join('\n');
}

export function describeOffline(input: { schoolId: string; roomId: string; agentId: string; since: number; reason: string | null; timeZone: string }): string {
  return [
    `The classroom PC ${input.agentId} (school ${input.schoolId}, room ${input.roomId}) stopped reporting at ${localTime(input.since, input.timeZone)}.`,
    `Reason given by the broker or the agent: ${input.reason ?? 'none'}. The PC may be off, its network down, or the agent stopped.`,
  ].join('\n');
}

/** A teacher's own words first: they say what the agent cannot see ("the picture flickers"). */
export function describeReport(input: { text: string; reporter: string | null; schoolId: string; roomId: string; agentId: string; device: TicketDevice | null; at: number; timeZone: string }): string {
  const lines = [
    `Reported from the classroom: "${input.text}"`,
    `By ${input.reporter ?? 'the teacher'} at ${localTime(input.at, input.timeZone)}; school ${input.schoolId}, room ${input.roomId}, classroom PC ${input.agentId}.`,
  ];
  if (input.device) lines.push(`Device named: ${input.device.kind ?? 'device'} ${input.device.name ?? input.device.id} (${input.device.id}).`);
  return lines.join('\n');
}

function localTime(ms: number, timeZone: string): string {
  const formatted = new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(ms);
  return `${formatted} (${timeZone})`;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Strings from devices are untrusted: control characters go, length is bounded (rendering escapes them later). */
function text(value: unknown): string | null {
  return typeof value === 'string' ? (untrustedText(value, 200) ?? null) : null;
}

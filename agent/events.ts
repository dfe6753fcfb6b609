import { randomUUID } from 'node:crypto';
import { FAULT_CODES, probeResultSchema, SCHEMA_VERSION, selfHelpFor, type FaultMessage, type HealthMessage, type InventoryMessage, type ProbeResult, type ReportBundle, type ReportMessage, type StatusMessage, type SystemSnapshot } from '../protocol/index.js';
import type { AgentConfig } from './config.js';
import type { CycleSnapshot, FaultCondition } from './faults/fault-condition.js';
import type { FaultTransition } from './faults/fault-tracker.js';
import type { ReportInput } from './report-bundle.js';
import { AVCARE_VERSION } from '../protocol/version.js';

type Identity = Pick<AgentConfig, 'agentId' | 'schoolId' | 'roomId'>;

function header(identity: Identity, at: Date) {
  return { schemaVersion: SCHEMA_VERSION, eventId: randomUUID(), agentId: identity.agentId, schoolId: identity.schoolId, roomId: identity.roomId, at: at.toISOString() };
}

export function inventoryMessage(identity: Identity, cycle: CycleSnapshot): InventoryMessage {
  return { ...header(identity, cycle.at), type: 'inventory', devices: cycle.devices, sources: cycle.sources };
}

/** `probe --json`: the inventory plus the PC's state and the cycle's faults; checked against its schema, so a bug cannot print something else. */
export function probeResult(identity: Identity, cycle: CycleSnapshot, faults: readonly FaultCondition[], replay?: ProbeResult['replay']): ProbeResult {
  return probeResultSchema.parse({
    ...(replay ? { replay } : {}),
    ...inventoryMessage(identity, cycle),
    ...(cycle.system ? { system: cycle.system } : {}),
    faults: faults.map((fault) => ({
      code: fault.code,
      severity: FAULT_CODES[fault.code].severity,
      category: FAULT_CODES[fault.code].category,
      deviceId: fault.deviceId,
      message: fault.message,
      messageKey: fault.messageKey,
      params: fault.params,
      evidence: fault.evidence,
      selfHelp: [...selfHelpFor(fault.code)],
    })),
  });
}

export function faultMessage(identity: Identity, transition: FaultTransition): FaultMessage {
  const { condition } = transition;
  return {
    ...header(identity, transition.at),
    type: 'fault',
    state: transition.state,
    code: condition.code,
    category: transition.category,
    severity: transition.severity,
    deviceId: condition.deviceId,
    message: condition.message,
    messageKey: condition.messageKey,
    params: condition.params,
    evidence: condition.evidence,
    firstSeenAt: transition.firstSeenAt.toISOString(),
  };
}

export function healthMessage(identity: Identity, system: SystemSnapshot, at: Date): HealthMessage {
  return { ...header(identity, at), type: 'health', system };
}

/** Retained on the status topic: online on connect, offline when stopped or (as the MQTT last will) when the connection is lost. */
export function statusMessage(identity: Identity, state: StatusMessage['state'], at: Date, reason?: string): StatusMessage {
  const message: StatusMessage = { ...header(identity, at), type: 'status', state, agentVersion: AVCARE_VERSION };
  if (reason !== undefined) message.reason = reason;
  return message;
}

/** A person's report with the agent's diagnostic bundle; its eventId is the report id they are shown. */
export function reportMessage(identity: Identity, input: ReportInput, bundle: ReportBundle, at: Date): ReportMessage {
  const message: ReportMessage = { ...header(identity, at), type: 'report', text: input.text, bundle };
  if (input.reporter !== undefined) message.reporter = input.reporter;
  if (input.deviceId !== undefined) message.deviceId = input.deviceId;
  return message;
}

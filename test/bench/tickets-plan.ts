import { FAULT_CODES, topicFor, type AgentMessage, type FaultCode, type FaultMessage } from '../../protocol/index.js';
import { messagesFrom, type Sender } from '../store/store-messages.js';

/**
 * The pure half of bench:tickets: who raises which fault when, and the messages themselves. The
 * bench script does the I/O (MQTT, HTTP, SQL); this part is checked by tickets-plan.test.ts.
 */

/** One thing a ticket is about: the engine keys tickets on (agent, code, device). */
export interface FaultSubject {
  code: FaultCode;
  deviceId: string | null;
  evidence: Record<string, unknown>;
  message: string;
}

/** Five distinct (code, device) subjects a classroom PC can raise at once. */
export const STORM_SUBJECTS: readonly FaultSubject[] = [
  { code: 'DEVICE_MISSING', deviceId: 'expected:usb:camera', evidence: { expected: { kind: 'camera' } }, message: 'front camera is missing' },
  { code: 'MICROPHONE_MUTED', deviceId: 'alsa:card1:capture', evidence: { mixer: 'Capture', muted: true }, message: 'microphone capture is muted' },
  { code: 'CAMERA_NO_VIDEO_NODE', deviceId: 'usb:046d:0843:1-1.4', evidence: { videoNodes: [] }, message: 'camera enumerated but has no /dev/video node' },
  { code: 'PJLINK_NOT_ANSWERING', deviceId: 'pjlink:10.20.0.31:4352', evidence: { host: '10.20.0.31', port: 4352, error: 'ETIMEDOUT' }, message: 'projector does not answer PJLink' },
  { code: 'DISK_NEARLY_FULL', deviceId: null, evidence: { mount: '/', usePercent: 97 }, message: 'disk / is 97% full' },
];

/** `count` agents, one per room, `roomsPerSchool` rooms to a school: ids are valid topic levels. */
export function benchSenders(count: number, prefix: string, roomsPerSchool: number): Sender[] {
  return Array.from({ length: count }, (_, index) => ({
    schoolId: `${prefix}-sch-${String(Math.floor(index / roomsPerSchool)).padStart(3, '0')}`,
    roomId: `r${String((index % roomsPerSchool) + 101)}`,
    agentId: `${prefix}-pc-${String(index).padStart(4, '0')}`,
  }));
}

/** The key the engine and the API use for an agent (SCHOOL_ID:AGENT_ID). */
export function agentKeyOf(sender: Sender): string {
  return `${sender.schoolId}:${sender.agentId}`;
}

/** A raise of `subject` as the agent sends it: parsed with agentMessageSchema (by messagesFrom). */
export function faultRaise(sender: Sender, subject: FaultSubject, at: Date, seq: number): FaultMessage {
  return messagesFrom(sender).fault('raised', {
    at: at.toISOString(),
    seq,
    code: subject.code,
    deviceId: subject.deviceId,
    evidence: subject.evidence,
    message: subject.message,
    severity: FAULT_CODES[subject.code].severity,
  });
}

/** The topic the collector's gate requires for this body. */
export function topicOf(message: AgentMessage): string {
  return topicFor({ school: message.schoolId, room: message.roomId, agent: message.agentId, kind: message.type });
}

export interface StormStep {
  /** Position in the plan; a redelivery names the step whose exact message it sends again. */
  id: number;
  /** When to publish, in ms from the start of the storm. */
  atMs: number;
  sender: number;
  subject: number;
  /** 0: the raise that opens the episode; 1 and up: the same open episode raised again later. */
  repeat: number;
  redeliveryOf?: number;
}

export interface StormPlanOptions {
  agents: number;
  subjects: number;
  /** Raises of each subject, each a round later than the one before (the probe cycle repeating). */
  raisesPerSubject: number;
  durationMs: number;
  /**
   * One agent in this many has an old raise redelivered at the storm's end (a broker resending
   * after a reconnect) and one in this many, another, sends its first raise twice back to back.
   */
  redeliveryEvery: number;
}

/**
 * Rounds of one raise per agent, the agents spread evenly over each round: round r raises
 * subject r mod subjects, so every subject is raised `raisesPerSubject` times with later `at`s.
 * Redeliveries come on top, with the same eventId: they must change nothing.
 */
export function planStorm(options: StormPlanOptions): StormStep[] {
  const rounds = options.subjects * options.raisesPerSubject;
  const roundMs = options.durationMs / rounds;
  const steps: StormStep[] = [];
  const firstOf: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (let sender = 0; sender < options.agents; sender += 1) {
      const atMs = round * roundMs + (sender / options.agents) * roundMs;
      const step: StormStep = { id: steps.length, atMs, sender, subject: round % options.subjects, repeat: Math.floor(round / options.subjects) };
      steps.push(step);
      if (round === 0) firstOf[sender] = step.id;
      if (round === 0 && sender % options.redeliveryEvery === Math.floor(options.redeliveryEvery / 2)) {
        steps.push({ ...step, id: steps.length, redeliveryOf: step.id });
      }
    }
  }
  const lastRoundMs = (rounds - 1) * roundMs;
  for (let sender = 0; sender < options.agents; sender += options.redeliveryEvery) {
    const original = firstOf[sender];
    const step = original === undefined ? undefined : steps[original];
    if (step) steps.push({ ...step, id: steps.length, atMs: lastRoundMs + (sender / options.agents) * roundMs, redeliveryOf: step.id });
  }
  // Stable: an immediate redelivery stays right behind its original.
  return steps.sort((a, b) => a.atMs - b.atMs);
}

/** Distinct (agent, subject) pairs raised: one ticket each, whatever the repeats and redeliveries. */
export function expectedTickets(plan: readonly StormStep[]): number {
  return new Set(plan.filter((step) => step.redeliveryOf === undefined).map((step) => `${step.sender}/${step.subject}`)).size;
}

/**
 * The n-th index to hand test/bench/telemetry.ts nextMessage for ordinary telemetry only: it
 * makes a fault of every index ≡ 1 (mod 20), which would open tickets of its own during the
 * latency phase; those indexes are skipped, the rest of the mix (health, inventory, measurement) kept.
 */
export function ordinaryTelemetryIndex(n: number): number {
  const block = Math.floor(n / 19);
  const within = n % 19;
  return block * 20 + (within === 0 ? 0 : within + 1);
}

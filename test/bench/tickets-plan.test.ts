import { describe, expect, it } from 'vitest';
import { agentMessageSchema, parseTopic } from '../../protocol/index.js';
import { nextMessage, simulatedFleet } from './telemetry.js';
import { benchSenders, expectedTickets, faultRaise, ordinaryTelemetryIndex, planStorm, STORM_SUBJECTS, topicOf } from './tickets-plan.js';

const STORM = { agents: 500, subjects: STORM_SUBJECTS.length, raisesPerSubject: 2, durationMs: 10_000, redeliveryEvery: 10 };

describe('the ticket storm plan of bench:tickets', () => {
  it('raises 5,000 faults on 2,500 distinct subjects within 10 s, plus redeliveries that follow their originals', () => {
    const plan = planStorm(STORM);
    const originals = plan.filter((step) => step.redeliveryOf === undefined);
    expect(originals).toHaveLength(5_000);
    expect(expectedTickets(plan)).toBe(2_500);
    expect(plan.length - originals.length).toBe(100);
    expect(plan.every((step, index) => step.atMs >= 0 && step.atMs < STORM.durationMs && (index === 0 || step.atMs >= (plan[index - 1]?.atMs ?? 0)))).toBe(true);
    const position = new Map(plan.map((step, index) => [step.id, index]));
    for (const step of plan.filter((s) => s.redeliveryOf !== undefined)) {
      expect(position.get(step.redeliveryOf ?? -1)).toBeLessThan(position.get(step.id) ?? -1);
    }
    // Each subject of each agent: one opening raise and one repeat of the same episode.
    const repeats = new Map<string, number[]>();
    for (const step of originals) repeats.set(`${step.sender}/${step.subject}`, [...(repeats.get(`${step.sender}/${step.subject}`) ?? []), step.repeat]);
    expect([...repeats.values()].every((list) => list.join() === '0,1')).toBe(true);
  });

  it('builds fault raises that pass agentMessageSchema on the topic of their own agent, one distinct code and device per subject', () => {
    const senders = benchSenders(60, 'storm', 20);
    expect(new Set(senders.map((sender) => sender.schoolId)).size).toBe(3);
    for (const [index, sender] of senders.entries()) {
      const subject = STORM_SUBJECTS[index % STORM_SUBJECTS.length];
      if (!subject) throw new Error('no subjects');
      const message = faultRaise(sender, subject, new Date(), index + 1);
      const parsed = agentMessageSchema.parse(JSON.parse(JSON.stringify(message)));
      expect(parseTopic(topicOf(parsed))).toEqual({ school: sender.schoolId, room: sender.roomId, agent: sender.agentId, kind: 'fault' });
    }
    expect(new Set(STORM_SUBJECTS.map((subject) => `${subject.code}/${subject.deviceId}`)).size).toBe(STORM_SUBJECTS.length);
  });

  it('keeps the background telemetry free of faults without gaps in the mix', () => {
    const fleet = simulatedFleet(40);
    const kinds = new Map<string, number>();
    for (let n = 0; n < 380; n += 1) {
      const agent = fleet[n % fleet.length];
      if (!agent) throw new Error('empty fleet');
      const type = nextMessage(agent, ordinaryTelemetryIndex(n)).message.type;
      kinds.set(type, (kinds.get(type) ?? 0) + 1);
    }
    expect(Object.fromEntries(kinds)).toEqual({ inventory: 20, measurement: 20, health: 340 });
    expect(new Set(Array.from({ length: 1000 }, (_, n) => ordinaryTelemetryIndex(n))).size).toBe(1000);
  });
});

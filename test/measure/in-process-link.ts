/**
 * Agent, cloud grants and reflector wired in one process, every message through its schema as it
 * would be through MQTT: the network test without a broker.
 */
import { agentSignalSchema, cloudSignalSchema, type AgentSignal, type CloudSignal, type SignalSender } from '../../protocol/measure-signal.js';
import type { SignalLink } from '../../agent/measure/signal-link.js';
import type { MeasureGrants } from '../../cloud/measurements/measure-grants.js';
import type { Reflector } from '../../cloud/reflector/reflector.js';

export interface InProcessLink extends SignalLink {
  /** Delivers a cloud message to the agent as the broker would (through the schema). */
  deliver(message: CloudSignal): void;
}

/** Rewrites signalling on its way (a relay path); a message mapped to undefined is withheld. */
export interface SignalPath {
  toReflector(message: AgentSignal): AgentSignal | undefined;
  toAgent(message: CloudSignal): Promise<CloudSignal | undefined>;
}

export function inProcessLink(from: SignalSender, grants: MeasureGrants, reflector: () => Reflector, path?: SignalPath): InProcessLink {
  const handlers = new Set<(message: CloudSignal) => void>();
  let delivered = Promise.resolve();
  const deliver = (message: CloudSignal): void => {
    const parsed = cloudSignalSchema.parse(JSON.parse(JSON.stringify(message)));
    // In order, as MQTT delivers one topic's messages, even while a rewrite waits.
    delivered = delivered.then(async () => {
      const shown = path ? await path.toAgent(parsed) : parsed;
      if (shown) for (const handler of handlers) handler(shown);
    });
  };
  return {
    deliver,
    async send(message) {
      const parsed = agentSignalSchema.parse(JSON.parse(JSON.stringify(message)));
      const passed = path ? path.toReflector(parsed) : parsed;
      if (!passed) return;
      if (passed.type === 'measure-request') deliver(grants.answer(from, passed.requestId, passed.test));
      else await reflector().handle(from, passed);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}

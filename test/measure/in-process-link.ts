/**
 * Agent, cloud grants and reflector wired in one process, every message through its schema as it
 * would be through MQTT: the network test without a broker.
 */
import { agentSignalSchema, cloudSignalSchema, type CloudSignal, type SignalSender } from '../../protocol/measure-signal.js';
import type { SignalLink } from '../../agent/measure/signal-link.js';
import type { MeasureGrants } from '../../cloud/measurements/measure-grants.js';
import type { Reflector } from '../../cloud/reflector/reflector.js';

export interface InProcessLink extends SignalLink {
  /** Delivers a cloud message to the agent as the broker would (through the schema). */
  deliver(message: CloudSignal): void;
}

export function inProcessLink(from: SignalSender, grants: MeasureGrants, reflector: () => Reflector): InProcessLink {
  const handlers = new Set<(message: CloudSignal) => void>();
  const deliver = (message: CloudSignal): void => {
    const parsed = cloudSignalSchema.parse(JSON.parse(JSON.stringify(message)));
    for (const handler of handlers) handler(parsed);
  };
  return {
    deliver,
    async send(message) {
      const parsed = agentSignalSchema.parse(JSON.parse(JSON.stringify(message)));
      if (parsed.type === 'measure-request') deliver(grants.answer(from, parsed.requestId, parsed.test));
      else await reflector().handle(from, parsed);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}

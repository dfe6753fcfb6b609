/**
 * Measurement signalling over the agent's own MQTT connection: out on its signal topic, in from
 * its inbox. Whatever arrives is parsed against the schema; a bad message is logged (rate-limited
 * by the count kept here) and dropped.
 */
import { agentSignalTopic, cloudSignalSchema, SIGNAL_KIND, type CloudSignal } from '../../protocol/measure-signal.js';
import { INBOX_ROOT } from '../../protocol/topics.js';
import type { Logger } from '../../protocol/log.js';
import type { SignalLink } from './signal-link.js';

export interface MqttSignalLinkOptions {
  identity: { schoolId: string; roomId: string; agentId: string };
  publish(topic: string, payload: string): Promise<void>;
  log: Logger;
}

export class MqttSignalLink implements SignalLink {
  private readonly handlers = new Set<(message: CloudSignal) => void>();
  private readonly topic: string;
  private readonly inbox: string;
  private rejected = 0;

  constructor(private readonly options: MqttSignalLinkOptions) {
    const { schoolId, roomId, agentId } = options.identity;
    this.topic = agentSignalTopic({ school: schoolId, room: roomId, agent: agentId });
    this.inbox = `${INBOX_ROOT}/${schoolId}/${agentId}/${SIGNAL_KIND}`;
  }

  send(message: Parameters<SignalLink['send']>[0]): Promise<void> {
    return this.options.publish(this.topic, JSON.stringify(message));
  }

  subscribe(handler: (message: CloudSignal) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** The transport's inbox handler: signalling goes to the tests, anything else is not ours. */
  receive(topic: string, payload: Buffer): void {
    if (topic !== this.inbox) return;
    let message: CloudSignal;
    try {
      message = cloudSignalSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch (error) {
      this.rejected += 1;
      // Powers of two: the first few are seen, a flood does not fill the log.
      if ((this.rejected & (this.rejected - 1)) === 0) this.options.log.warn({ err: error instanceof Error ? error.message.slice(0, 300) : String(error), rejected: this.rejected }, 'dropped a malformed signalling message');
      return;
    }
    for (const handler of this.handlers) handler(message);
  }
}

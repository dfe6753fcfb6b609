/**
 * Measurement signalling arrives on the same subscription as telemetry (avcare/v1/.../signal) but
 * is nothing to store: a request for a session goes to the grants, the rest to the reflector
 * running in this process (a reflector of its own process subscribes for itself). Everything
 * else goes on to the collector untouched.
 */
import type { Logger } from 'pino';
import { untrustedText } from '../../protocol/index.js';
import { agentSignalInbox, parseSignalTopic, readAgentSignal } from '../../protocol/measure-signal.js';
import type { AcceptOutcome, Collector } from '../collector/collector.js';
import type { MessageSender } from '../collector/message-gate.js';
import type { CloudMetrics } from '../metrics.js';
import { RateLimitedLog } from '../collector/rate-limited-log.js';
import type { Reflector } from '../reflector/reflector.js';
import type { MeasureGrants } from './measure-grants.js';


export interface SignalRouterOptions {
  grants: MeasureGrants;
  reflector?: Pick<Reflector, 'handle'>;
  /** Publishes to an agent's inbox (the embedded broker, or the feed's connection). */
  publish(topic: string, payload: Buffer): Promise<void>;
  log: Logger;
  metrics: CloudMetrics;
}

export type Inbound = Pick<Collector, 'accept'>;

export class SignalRouter {
  private readonly limitedLog: RateLimitedLog;

  constructor(private readonly options: SignalRouterOptions) {
    this.limitedLog = new RateLimitedLog(options.log.child({ module: 'signal-router' }));
  }

  /** The collector with signalling taken out of its stream. */
  in(front: Inbound): Inbound {
    return {
      accept: (topic, payload, sender) => (parseSignalTopic(topic) ? this.accept(topic, payload, sender) : front.accept(topic, payload, sender)),
    };
  }

  async accept(topic: string, payload: Buffer, sender?: MessageSender): Promise<AcceptOutcome> {
    const from = parseSignalTopic(topic);
    if (!from) return 'rejected';
    const refuse = (reason: string, detail: string): AcceptOutcome => {
      this.options.metrics.messagesIn.inc({ kind: 'signal' });
      this.options.metrics.rejected.inc({ reason: 'signal' });
      this.limitedLog.warn(`signal:${reason}`, { reason, topic: untrustedText(topic, 128), detail: detail.slice(0, 200) }, 'dropped a bad signalling message');
      return 'rejected';
    };
    if (sender && (sender.schoolId !== from.school || sender.agentId !== from.agent)) return refuse('sender-mismatch', `authenticated as ${sender.schoolId}/${sender.agentId}`);
    const read = readAgentSignal(payload);
    if ('reason' in read) return refuse(read.reason, read.detail);
    this.options.metrics.messagesIn.inc({ kind: 'signal' });
    const { signal } = read;
    try {
      if (signal.type === 'measure-request') {
        const answer = this.options.grants.answer(from, signal.requestId, signal.test);
        await this.options.publish(agentSignalInbox(from.school, from.agent), Buffer.from(JSON.stringify(answer)));
      } else {
        await this.options.reflector?.handle(from, signal);
      }
    } catch (error) {
      this.limitedLog.warn('signal:failed', { err: error, topic: untrustedText(topic, 128) }, 'handling a signalling message failed');
    }
    // Nothing is stored: "duplicate" tells the broker to acknowledge without counting a new event.
    return 'duplicate';
  }
}

import type { AgentConfig } from '../config.js';
import type { Logger } from '../../protocol/log.js';
import { resolveStateDir } from '../state-dir.js';
import { MqttTransport, redactUrl } from './mqtt-transport.js';
import { Outbox, outboxFile } from './outbox.js';
import { OutboxSink } from './outbox-sink.js';

/** The durable outbox, the MQTT transport and the sink that feeds them, started together. */
export function startPublishing(
  config: AgentConfig,
  broker: AgentConfig['broker'] & { url: string },
  log: Logger,
  options: { announceStatus?: boolean; onInbox?: (topic: string, payload: Buffer) => void } = {},
) {
  const outbox = new Outbox({ path: outboxFile(resolveStateDir(config)), maxEvents: config.outbox.maxEvents, log });
  let transport: MqttTransport;
  try {
    transport = new MqttTransport({
      identity: config,
      broker,
      outbox,
      log,
      // Test signalling rides on this connection: the broker lets an agent have one.
      ...(options.onInbox ? { onInbox: options.onInbox } : {}),
      ...(options.announceStatus === false ? { announceStatus: false } : {}),
    });
  } catch (error) {
    outbox.close();
    throw error;
  }
  transport.start();
  return {
    transport,
    outbox,
    sink: new OutboxSink({ outbox, onEnqueued: () => transport.wake() }),
    describe: () => `${redactUrl(broker.url)} (unsent events wait in ${outbox.path})`,
    async stop() {
      await transport.stop();
      outbox.close();
    },
  };
}


import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { agentMessageSchema, topicFilter, type AgentMessage } from '../../protocol/index.js';

export interface Received {
  topic: string;
  retain: boolean;
  message: AgentMessage;
}

/** A real MQTT subscriber on every avcare topic that keeps what it receives, parsed with the protocol schema. */
export interface Recorder {
  readonly received: Received[];
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function record(url: string, options: IClientOptions = {}): Promise<Recorder> {
  const client: MqttClient = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 200, ...options });
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, retain: packet.retain, message: agentMessageSchema.parse(JSON.parse(payload.toString())) });
  });
  await client.subscribeAsync(topicFilter('+'), { qos: 1 });
  return {
    received,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`timed out; received ${received.length}: ${received.map((r) => `${r.message.type}${r.message.seq ?? ''}`).join(' ').slice(-400)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => client.endAsync(true),
  };
}

/** Events with a seq, first arrival of each (redeliveries are expected with at-least-once). */
export function firstArrivals(received: readonly Received[]): number[] {
  const seen = new Set<number>();
  const order: number[] = [];
  for (const { message } of received) {
    if (message.seq === undefined || seen.has(message.seq)) continue;
    seen.add(message.seq);
    order.push(message.seq);
  }
  return order;
}

export async function until(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

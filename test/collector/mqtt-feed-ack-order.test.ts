import { createServer, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import type { AcceptOutcome } from '../../cloud/collector/collector.js';
import { startMqttFeed, type MqttFeed } from '../../cloud/collector/mqtt-feed.js';
import { eventually } from '../cloud/cloud-process.js';
import { payloadOf, SENDER, topicOf, validMessage } from './agent-traffic.js';

/**
 * A broker scripted at the packet level (mqtt-packet, the parser MQTT.js itself uses), so the test
 * sees the PUBACKs exactly as the feed writes them. Mosquitto accepts them in any order and could
 * not show the difference; MQTT 3.1.1 section 4.6 asks for the order of the PUBLISHes.
 */
function scriptedBroker(onSubscribed: (socket: Socket) => void, pubacks: number[]): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connect') socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
      if (packet.cmd === 'subscribe') {
        socket.write(mqttPacket.generate({ cmd: 'suback', messageId: packet.messageId ?? 1, granted: [1] }));
        onSubscribed(socket);
      }
      if (packet.cmd === 'puback' && packet.messageId !== undefined) pubacks.push(packet.messageId);
      if (packet.cmd === 'pingreq') socket.write(mqttPacket.generate({ cmd: 'pingresp' }));
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe('mqtt-feed PUBACK order', () => {
  it('acknowledges in the order the messages came, though the collector commits the later ones first', async () => {
    const messages = [1, 2, 3].map((seq) => validMessage('health', SENDER, seq));
    const pubacks: number[] = [];
    const { server, port } = await scriptedBroker((socket) => {
      messages.forEach((message, index) => {
        socket.write(mqttPacket.generate({ cmd: 'publish', topic: topicOf(message), payload: Buffer.from(payloadOf(message)), qos: 1, messageId: 101 + index, retain: false, dup: false }));
      });
    }, pubacks);
    cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));

    // Commits in reverse: message 3, then 2, then 1 (as two concurrent batches may finish).
    const commits: Array<() => void> = [];
    const collector = {
      accept: (): Promise<AcceptOutcome> => new Promise((resolve) => commits.push(() => resolve('stored'))),
    };
    const feed: MqttFeed = startMqttFeed({ url: `mqtt://127.0.0.1:${port}`, collector, log: silentLogger, clientId: 'order-test', protocolVersion: 4 }); // the stand-in broker parses MQTT 3.1.1
    cleanup.push(() => feed.close());
    await eventually(() => Promise.resolve(commits.length === 3 ? true : undefined), 5_000, 'three messages handed to the collector');

    commits[2]?.();
    commits[1]?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Messages 2 and 3 are committed, but 1 is not: nothing may be acknowledged yet.
    expect(pubacks).toEqual([]);
    commits[0]?.();
    await eventually(() => Promise.resolve(pubacks.length === 3 ? true : undefined), 5_000, 'three PUBACKs');
    expect(pubacks).toEqual([101, 102, 103]);
  });
});

/**
 * Devices on a test LAN that answer discovery searches, run inside a network namespace:
 *   ip netns exec NS tsx test/sim/discovery-peers.ts '<json PeersConfig>'
 * Projectors answer the PJLink class 2 search (`%2SRCH` on UDP 4352) with `%2ACKN=<MAC>` from their
 * own address and serve PJLink on TCP 4352; cameras answer Sony's `ENQ:network` on UDP 52380.
 * A "chatty" device answers both searches with something else. Prints "ready" once listening, and
 * one line "heard <port> <from> <hex>" per datagram received, for the test to check what was sent.
 * Replies are written out by hand, not with the agent's codecs.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { startPjlinkProjector } from './pjlink-projector.js';

export interface PeersConfig {
  projectors: { address: string; mac: string; name?: string; manufacturer?: string; product?: string; password?: string }[];
  cameras: { address: string; mac: string; model: string; name: string; reportedAddress?: string }[];
  chatty?: string;
}

const PJLINK_PORT = 4352;
const SONY_PORT = 52380;

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as PeersConfig;
  const senders = new Map<string, Socket>();
  const sender = async (address: string, port: number): Promise<Socket> => {
    const key = `${address}:${port}`;
    const existing = senders.get(key);
    if (existing) return existing;
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => socket.bind(port, address, resolve));
    senders.set(key, socket);
    return socket;
  };
  const reply = async (from: string, port: number, to: RemoteInfo, message: Buffer): Promise<void> => {
    (await sender(from, port)).send(message, to.port, to.address);
  };

  for (const projector of config.projectors) {
    await startPjlinkProjector({
      listenHost: projector.address,
      listenPort: PJLINK_PORT,
      class: '2',
      ...(projector.name === undefined ? {} : { name: projector.name }),
      ...(projector.manufacturer === undefined ? {} : { manufacturer: projector.manufacturer }),
      ...(projector.product === undefined ? {} : { product: projector.product }),
      ...(projector.password === undefined ? {} : { password: projector.password }),
    });
    await sender(projector.address, PJLINK_PORT);
  }
  for (const camera of config.cameras) await sender(camera.address, SONY_PORT);
  if (config.chatty) {
    await sender(config.chatty, PJLINK_PORT);
    await sender(config.chatty, SONY_PORT);
  }

  const listen = async (port: number, answer: (message: Buffer, from: RemoteInfo) => Promise<void>): Promise<void> => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('message', (message, from) => {
      process.stdout.write(`heard ${port} ${from.address} ${message.toString('hex')}\n`);
      void answer(message, from);
    });
    await new Promise<void>((resolve) => socket.bind(port, '0.0.0.0', resolve));
  };

  await listen(PJLINK_PORT, async (message, from) => {
    if (message.toString('latin1') !== '%2SRCH\r') return;
    for (const projector of config.projectors) await reply(projector.address, PJLINK_PORT, from, Buffer.from(`%2ACKN=${projector.mac}\r`, 'latin1'));
    if (config.chatty) await reply(config.chatty, PJLINK_PORT, from, Buffer.from('HELLO FROM A PRINTER\r', 'latin1'));
  });
  await listen(SONY_PORT, async (message, from) => {
    if (!message.equals(Buffer.from([0x02, ...Buffer.from('ENQ:network', 'latin1'), 0xff, 0x03]))) return;
    for (const camera of config.cameras) {
      const fields = [`MAC:${camera.mac}`, 'INFO:', `MODEL:${camera.model}`, 'SOFTVERSION:2.10', `IPADR:${camera.reportedAddress ?? camera.address}`, 'MASK:255.255.255.0', 'GATEWAY:0.0.0.0', `NAME:${camera.name}`, 'WRITE:on'];
      const body = Buffer.concat(fields.map((field) => Buffer.concat([Buffer.from(field, 'latin1'), Buffer.from([0xff])])));
      await reply(camera.address, SONY_PORT, from, Buffer.concat([Buffer.from([0x02]), body, Buffer.from([0x03])]));
    }
    if (config.chatty) await reply(config.chatty, SONY_PORT, from, Buffer.from([0x02, 0x41, 0x42, 0x03]));
  });
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`discovery peers failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

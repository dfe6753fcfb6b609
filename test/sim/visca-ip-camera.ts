import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { ViscaFrameSplitter } from '../../agent/probes/visca.js';
import { viscaCameraLogic, type ViscaCameraBehaviour, type ViscaCameraMode } from './visca-camera-logic.js';

export type SimulatedFraming = 'sony-ip' | 'raw-udp' | 'raw-tcp';

export interface ViscaIpCameraOptions extends ViscaCameraBehaviour {
  framing: SimulatedFraming;
  /** Wait before each reply. */
  delayMs?: number;
  /** Sony: answer 0F 01 (sequence error) to everything until the controller resets the sequence. */
  needsSequenceReset?: boolean;
  /** UDP: lose the n-th datagram the camera receives (1-based), as a busy Wi-Fi link does. */
  dropIncoming?: readonly number[];
  /** UDP: lose the n-th reply the camera sends (1-based). */
  dropReplies?: readonly number[];
  /** UDP: send every reply twice. */
  duplicateReplies?: boolean;
  /**
   * Raw UDP: also find a VISCA packet inside a datagram that carries more (a Sony header), as
   * lenient firmware does. By default a camera ignores framings it does not speak.
   */
  lenient?: boolean;
  /** Sony: reply with this datagram instead (a broken firmware, a different device on the port). */
  garbledDatagram?: Uint8Array;
}

export interface SimulatedViscaIpCamera {
  readonly port: number;
  /** Every VISCA packet the camera took in, in order (after the framing was removed). */
  readonly received: Buffer[];
  /** Every datagram or TCP chunk that reached the camera, framing included. */
  readonly datagrams: Buffer[];
  readonly sequenceResets: number;
  setMode(mode: ViscaCameraMode): void;
  close(): Promise<void>;
}

const HEADER = 8;

/**
 * A VISCA-over-IP camera on 127.0.0.1 speaking exactly one framing. The Sony header is written
 * out by hand here rather than with the agent's codec, so a codec bug cannot hide in the tests.
 */
export async function startViscaIpCamera(options: ViscaIpCameraOptions): Promise<SimulatedViscaIpCamera> {
  return options.framing === 'raw-tcp' ? startTcpCamera(options) : startUdpCamera(options);
}

async function startUdpCamera(options: ViscaIpCameraOptions): Promise<SimulatedViscaIpCamera> {
  const logic = viscaCameraLogic(options);
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  const datagrams: Buffer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let incoming = 0;
  let replies = 0;
  let sequenceResets = 0;
  let resetSeen = !options.needsSequenceReset;

  const later = (run: () => void): void => {
    if (!options.delayMs) return run();
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, options.delayMs);
    timers.add(timer);
  };
  const sendTo = (peer: RemoteInfo, datagram: Uint8Array): void => {
    replies += 1;
    if (options.dropReplies?.includes(replies)) return;
    const copies = options.duplicateReplies ? 2 : 1;
    later(() => {
      for (let copy = 0; copy < copies; copy += 1) socket.send(datagram, peer.port, peer.address);
    });
  };

  socket.on('message', (message, peer) => {
    incoming += 1;
    datagrams.push(message);
    if (options.dropIncoming?.includes(incoming)) return;
    if (options.framing === 'sony-ip') {
      answerSony(message, peer);
      return;
    }
    answerRaw(message, peer);
  });

  function answerSony(message: Buffer, peer: RemoteInfo): void {
    // A camera speaking Sony's framing ignores anything without its header.
    if (message.length < HEADER || message.readUInt16BE(2) !== message.length - HEADER) return;
    const type = message.readUInt16BE(0);
    const sequence = message.readUInt32BE(4);
    const payload = message.subarray(HEADER);
    if (type === 0x0200 && payload.length === 1 && payload[0] === 0x01) {
      sequenceResets += 1;
      resetSeen = true;
      sendTo(peer, sony(0x0201, sequence, [0x01]));
      return;
    }
    if (type !== 0x0100 && type !== 0x0110) return;
    if (!resetSeen) {
      sendTo(peer, sony(0x0201, sequence, [0x0f, 0x01]));
      return;
    }
    received.push(Buffer.from(payload));
    if (options.garbledDatagram) {
      sendTo(peer, options.garbledDatagram);
      return;
    }
    for (const reply of logic.answer(payload)) sendTo(peer, sony(0x0111, sequence, reply));
  }

  function answerRaw(message: Buffer, peer: RemoteInfo): void {
    const packets = options.lenient ? new ViscaFrameSplitter().feed(message).packets : strictPacket(message);
    for (const packet of packets) {
      received.push(Buffer.from(packet));
      for (const reply of logic.answer(packet)) sendTo(peer, reply);
    }
  }

  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    port,
    received,
    datagrams,
    get sequenceResets() {
      return sequenceResets;
    },
    setMode(mode) {
      logic.mode = mode;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}

async function startTcpCamera(options: ViscaIpCameraOptions): Promise<SimulatedViscaIpCamera> {
  const logic = viscaCameraLogic(options);
  const received: Buffer[] = [];
  const datagrams: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const splitter = new ViscaFrameSplitter();
    socket.on('data', (chunk) => {
      datagrams.push(chunk);
      for (const packet of splitter.feed(chunk).packets) {
        received.push(Buffer.from(packet));
        for (const reply of logic.answer(packet)) {
          if (options.delayMs) setTimeout(() => socket.write(reply), options.delayMs);
          else socket.write(reply);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('TCP camera has no port');
  return {
    port: address.port,
    received,
    datagrams,
    sequenceResets: 0,
    setMode(mode) {
      logic.mode = mode;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function sony(type: number, sequence: number, payload: readonly number[] | Uint8Array): Buffer {
  const datagram = Buffer.alloc(HEADER + payload.length);
  datagram.writeUInt16BE(type, 0);
  datagram.writeUInt16BE(payload.length, 2);
  datagram.writeUInt32BE(sequence, 4);
  Buffer.from(payload).copy(datagram, HEADER);
  return datagram;
}

/** A strict raw camera: the datagram is one VISCA packet or nothing. */
function strictPacket(message: Buffer): Uint8Array[] {
  const first = message[0];
  const valid = first !== undefined && first >= 0x80 && first !== 0xff && message.length <= 16 && message[message.length - 1] === 0xff;
  return valid ? [Uint8Array.from(message)] : [];
}

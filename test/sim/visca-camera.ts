import { SerialPort } from 'serialport';
import { ViscaFrameSplitter, type ViscaVersion } from '../../agent/probes/visca.js';

/**
 * 'hung': the command processor is stuck (a full command buffer): addressed commands go
 * unanswered while broadcasts still pass through, until an IF_Clear empties the buffers and the
 * camera turns to `recoversTo`.
 */
export type ViscaCameraMode = 'on' | 'standby' | 'power-error' | 'silent' | 'garbage' | 'hung';

export interface ViscaCameraOptions {
  mode: ViscaCameraMode;
  /** The camera's VISCA address, 1-7. */
  address?: number;
  zoom?: number;
  version?: ViscaVersion;
  /** Wait before each reply, like a slow camera or a long cable with a converter. */
  delayMs?: number;
  baudRate?: number;
  /** What 'garbage' mode sends in answer to anything: by default bytes without a terminator, as a wrong baud rate gives. */
  garbage?: Uint8Array;
  /** The mode a 'hung' camera turns to when it receives IF_Clear; 'on' by default. */
  recoversTo?: Exclude<ViscaCameraMode, 'hung'>;
}

export interface SimulatedViscaCamera {
  setMode(mode: ViscaCameraMode): void;
  close(): Promise<void>;
  /** Every packet the camera received, in order. */
  readonly received: Buffer[];
}

const DEFAULT_VERSION: ViscaVersion = { vendorId: 0x0001, modelId: 0x0519, romVersion: 0x0130, socketCount: 2 };
const DEFAULT_GARBAGE = Uint8Array.of(0x12, 0x9c, 0x50, 0x3e, 0x00, 0x7f);
const TERMINATOR = 0xff;

/**
 * A VISCA camera on one end of a pty pair. Replies are written out byte by byte here rather
 * than built with the agent's codec, so a codec bug cannot hide itself in the tests.
 */
export async function startViscaCamera(path: string, options: ViscaCameraOptions): Promise<SimulatedViscaCamera> {
  const address = options.address ?? 1;
  const replyHeader = (address + 8) << 4;
  const zoom = options.zoom ?? 0x4000;
  const version = options.version ?? DEFAULT_VERSION;
  const garbage = options.garbage ?? DEFAULT_GARBAGE;
  let mode = options.mode;

  const port = new SerialPort({ path, baudRate: options.baudRate ?? 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  port.on('error', (error) => {
    // A test that breaks the line on purpose should not crash the runner; it sees the effect instead.
    console.warn(`simulated VISCA camera on ${path}: ${error.message}`);
  });

  const received: Buffer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const splitter = new ViscaFrameSplitter();

  const send = (bytes: readonly number[] | Uint8Array): void => {
    const write = (): void => {
      if (port.isOpen) port.write(Buffer.from(bytes));
    };
    if (!options.delayMs) return write();
    const timer = setTimeout(() => {
      timers.delete(timer);
      write();
    }, options.delayMs);
    timers.add(timer);
  };

  const reply = (...payload: number[]): void => send([replyHeader, ...payload, TERMINATOR]);

  const answer = (packet: Uint8Array): void => {
    const [header, ...rest] = packet;
    const body = rest.slice(0, -1);
    if (header === 0x88) return answerBroadcast(body);
    if (header !== (0x80 | address)) return; // addressed to another camera on the chain
    if (mode === 'silent' || mode === 'hung') return;
    if (mode === 'garbage') return send(garbage);

    const isPowerInquiry = sameBytes(body, [0x09, 0x04, 0x00]);
    if (isPowerInquiry) return reply(0x50, mode === 'on' ? 0x02 : mode === 'standby' ? 0x03 : 0x04);
    if (mode !== 'on') return reply(0x60, 0x41); // not executable while in standby or faulty
    if (sameBytes(body, [0x09, 0x04, 0x47])) return reply(0x50, (zoom >> 12) & 0xf, (zoom >> 8) & 0xf, (zoom >> 4) & 0xf, zoom & 0xf);
    if (sameBytes(body, [0x09, 0x00, 0x02])) {
      const { vendorId, modelId, romVersion, socketCount } = version;
      return reply(0x50, vendorId >> 8, vendorId & 0xff, modelId >> 8, modelId & 0xff, romVersion >> 8, romVersion & 0xff, socketCount);
    }
    if (body[0] === 0x01) {
      reply(0x41); // ack on socket 1
      return reply(0x51); // completion on socket 1
    }
    return reply(0x60, 0x02); // syntax error
  };

  const answerBroadcast = (body: number[]): void => {
    if (mode === 'silent') return;
    // Address set: take the address offered and pass the next one down the chain.
    if (body[0] === 0x30 && body.length === 2) return send([0x88, 0x30, (body[1] ?? 0) + 1, TERMINATOR]);
    if (sameBytes(body, [0x01, 0x00, 0x01])) {
      if (mode === 'hung') mode = options.recoversTo ?? 'on';
      return send([0x88, 0x01, 0x00, 0x01, TERMINATOR]);
    }
  };

  port.on('data', (chunk: Buffer) => {
    for (const packet of splitter.feed(chunk).packets) {
      received.push(Buffer.from(packet));
      answer(packet);
    }
  });

  return {
    received,
    setMode(next) {
      mode = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (!port.isOpen) return;
      await new Promise<void>((resolve, reject) => port.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function sameBytes(actual: readonly number[], expected: readonly number[]): boolean {
  return actual.length === expected.length && actual.every((byte, index) => byte === expected[index]);
}

/**
 * Sony VISCA codec: command builders, a frame splitter and a reply parser. Pure functions over
 * bytes; the serial I/O lives in serial-link.ts and the request/reply logic in visca-client.ts.
 *
 * Packet layout: a header byte, up to 14 message bytes, then the terminator 0xFF.
 * Controller -> camera n: header 0x80 | n. Camera n -> controller: header (n + 8) << 4 (0x90 for 1).
 * Broadcast (address set, IF_Clear): header 0x88.
 */

export const VISCA_TERMINATOR = 0xff;
/** The VISCA specification caps a packet at 16 bytes including header and terminator. */
export const VISCA_MAX_PACKET_LENGTH = 16;
export const VISCA_BROADCAST_HEADER = 0x88;
export const VISCA_MIN_ADDRESS = 1;
export const VISCA_MAX_ADDRESS = 7;
/** Vendor id in the version inquiry reply that identifies Sony. */
export const VISCA_VENDOR_SONY = 0x0001;

export type ViscaPower = 'on' | 'standby' | 'power-error';
export type ViscaErrorKind = 'syntax' | 'buffer-full' | 'cancelled' | 'no-socket' | 'not-executable' | 'unknown';

export interface ViscaVersion {
  vendorId: number;
  modelId: number;
  romVersion: number;
  socketCount: number;
}

/** What a reply packet means. `raw` is kept where a caller may need to show the bytes. */
export type ViscaReply =
  | { type: 'power'; power: ViscaPower }
  | { type: 'zoom'; position: number }
  | ({ type: 'version' } & ViscaVersion)
  | { type: 'ack'; socket: number }
  | { type: 'completion'; socket: number; payload: Uint8Array }
  | { type: 'error'; error: ViscaErrorKind; code: number; socket: number }
  | { type: 'address-set'; nextAddress: number }
  | { type: 'if-clear' }
  /** A well-formed reply from another camera on the daisy chain: not ours, not an error. */
  | { type: 'foreign'; address: number; raw: Uint8Array }
  | { type: 'garbled'; reason: string; raw: Uint8Array };

/** Which inquiry the packet answers: inquiry replies carry no type of their own, only a payload. */
export type ReplyExpectation = 'power' | 'zoom' | 'version' | 'any';

const POWER_BY_CODE: ReadonlyMap<number, ViscaPower> = new Map([
  [0x02, 'on'],
  [0x03, 'standby'],
  [0x04, 'power-error'],
]);

const ERROR_BY_CODE: ReadonlyMap<number, ViscaErrorKind> = new Map([
  [0x02, 'syntax'],
  [0x03, 'buffer-full'],
  [0x04, 'cancelled'],
  [0x05, 'no-socket'],
  [0x41, 'not-executable'],
]);

export function commandHeader(address: number): number {
  assertAddress(address);
  return 0x80 | address;
}

export function replyHeader(address: number): number {
  assertAddress(address);
  return (address + 8) << 4;
}

export function powerInquiry(address: number): Uint8Array {
  return Uint8Array.of(commandHeader(address), 0x09, 0x04, 0x00, VISCA_TERMINATOR);
}

export function zoomPositionInquiry(address: number): Uint8Array {
  return Uint8Array.of(commandHeader(address), 0x09, 0x04, 0x47, VISCA_TERMINATOR);
}

export function versionInquiry(address: number): Uint8Array {
  return Uint8Array.of(commandHeader(address), 0x09, 0x00, 0x02, VISCA_TERMINATOR);
}

/** CAM_Power On (`8x 01 04 00 02 FF`) or Standby (`8x 01 04 00 03 FF`): the camera acknowledges, then completes when it has switched. */
export function powerCommand(address: number, on: boolean): Uint8Array {
  return Uint8Array.of(commandHeader(address), 0x01, 0x04, 0x00, on ? 0x02 : 0x03, VISCA_TERMINATOR);
}

/** Broadcast: empties every camera's command buffers (cancels commands in progress). */
export function ifClear(): Uint8Array {
  return Uint8Array.of(VISCA_BROADCAST_HEADER, 0x01, 0x00, 0x01, VISCA_TERMINATOR);
}

/** To one camera: empties its command buffers. Over IP there is no chain to broadcast to. */
export function cameraIfClear(address: number): Uint8Array {
  return Uint8Array.of(commandHeader(address), 0x01, 0x00, 0x01, VISCA_TERMINATOR);
}

/** Broadcast: renumbers the whole daisy chain starting at address 1. */
export function addressSet(): Uint8Array {
  return Uint8Array.of(VISCA_BROADCAST_HEADER, 0x30, 0x01, VISCA_TERMINATOR);
}

/**
 * How many cameras answered an Address Set: each camera takes the address it is offered and
 * passes the next one on, so the reply that comes back carries the last camera's address + 1.
 */
export function camerasOnChain(reply: Extract<ViscaReply, { type: 'address-set' }>): number {
  return reply.nextAddress - 1;
}

/** The camera address a command packet is sent to, or 'broadcast'. */
export function commandTarget(command: Uint8Array): number | 'broadcast' {
  const header = command[0];
  if (header === VISCA_BROADCAST_HEADER) return 'broadcast';
  if (header === undefined || (header & 0xf8) !== 0x80 || (header & 0x07) === 0) {
    throw new RangeError(`not a VISCA command header: ${toHex(command.subarray(0, 1))}`);
  }
  return header & 0x07;
}

export interface SplitResult {
  packets: Uint8Array[];
  /** Bytes that belong to no packet: noise before a header, or an over-long run without 0xFF. */
  junk: Uint8Array[];
}

/**
 * Cuts a byte stream into packets ending in 0xFF. Buffers at most one packet of
 * VISCA_MAX_PACKET_LENGTH bytes, so a line that never sends 0xFF (wrong baud rate, unplugged
 * camera picking up noise) cannot grow memory.
 */
export class ViscaFrameSplitter {
  private packet: number[] = [];
  /** After an over-long run we drop bytes up to the next terminator, which ends the bad packet. */
  private skippingToTerminator = false;

  feed(chunk: Uint8Array): SplitResult {
    const packets: Uint8Array[] = [];
    const junk: Uint8Array[] = [];
    let junkRun: number[] = [];
    const flushJunk = (): void => {
      if (junkRun.length > 0) junk.push(Uint8Array.from(junkRun));
      junkRun = [];
    };

    for (const byte of chunk) {
      if (this.skippingToTerminator) {
        junkRun.push(byte);
        if (byte === VISCA_TERMINATOR) this.skippingToTerminator = false;
        continue;
      }
      if (this.packet.length === 0 && !isHeaderByte(byte)) {
        junkRun.push(byte);
        continue;
      }
      this.packet.push(byte);
      if (byte === VISCA_TERMINATOR) {
        flushJunk();
        packets.push(Uint8Array.from(this.packet));
        this.packet = [];
      } else if (this.packet.length >= VISCA_MAX_PACKET_LENGTH) {
        junkRun.push(...this.packet);
        this.packet = [];
        this.skippingToTerminator = true;
      }
    }
    flushJunk();
    return { packets, junk };
  }

  /** Bytes of a packet that has started but not ended. */
  pending(): Uint8Array {
    return Uint8Array.from(this.packet);
  }

  reset(): void {
    this.packet = [];
    this.skippingToTerminator = false;
  }
}

/**
 * Decodes one packet (as cut by ViscaFrameSplitter) sent by the camera at `expectedAddress`.
 * `expect` names the inquiry it answers, because an inquiry reply `z0 50 <payload> FF` does not
 * say which inquiry it belongs to.
 */
export function parseReply(packet: Uint8Array, expectedAddress: number, expect: ReplyExpectation = 'any'): ViscaReply {
  const garbled = (reason: string): ViscaReply => ({ type: 'garbled', reason, raw: Uint8Array.from(packet) });
  const header = packet[0];
  const kind = packet[1];
  if (header === undefined || packet.length < 3 || kind === undefined) return garbled('packet shorter than 3 bytes');
  if (packet[packet.length - 1] !== VISCA_TERMINATOR) return garbled('packet does not end in FF');
  if (packet.length > VISCA_MAX_PACKET_LENGTH) return garbled(`packet longer than ${VISCA_MAX_PACKET_LENGTH} bytes`);

  if (header === VISCA_BROADCAST_HEADER) return parseBroadcastReply(packet, garbled);
  if ((header & 0xf8) === 0x80) return garbled('packet is a command, not a reply (is the line looped back?)');
  const sender = (header >> 4) - 8;
  if ((header & 0x0f) !== 0 || sender < VISCA_MIN_ADDRESS || sender > VISCA_MAX_ADDRESS) {
    return garbled(`invalid reply header ${toHex(packet.subarray(0, 1))}`);
  }
  if (sender !== expectedAddress) return { type: 'foreign', address: sender, raw: Uint8Array.from(packet) };

  const socket = kind & 0x0f;
  const payload = packet.subarray(2, packet.length - 1);
  switch (kind & 0xf0) {
    case 0x40:
      return payload.length === 0 ? { type: 'ack', socket } : garbled('ack with a payload');
    case 0x60: {
      const code = payload[0];
      if (payload.length !== 1 || code === undefined) return garbled('error reply without exactly one code byte');
      return { type: 'error', error: ERROR_BY_CODE.get(code) ?? 'unknown', code, socket };
    }
    case 0x50:
      return parseCompletion(socket, payload, expect, garbled);
    default:
      return garbled(`unknown reply type ${toHex(packet.subarray(1, 2))}`);
  }
}

function parseCompletion(
  socket: number,
  payload: Uint8Array,
  expect: ReplyExpectation,
  garbled: (reason: string) => ViscaReply,
): ViscaReply {
  if (expect === 'any') return { type: 'completion', socket, payload: Uint8Array.from(payload) };
  if (socket !== 0) return garbled(`inquiry reply on socket ${socket} (inquiries answer on socket 0)`);
  switch (expect) {
    case 'power': {
      const code = payload[0];
      const power = code === undefined ? undefined : POWER_BY_CODE.get(code);
      if (payload.length !== 1 || power === undefined) return garbled('not a power inquiry reply (expected 02, 03 or 04)');
      return { type: 'power', power };
    }
    case 'zoom': {
      if (payload.length !== 4 || payload.some((byte) => byte > 0x0f)) return garbled('not a zoom position reply (expected 4 nibbles)');
      return { type: 'zoom', position: payload.reduce((value, nibble) => (value << 4) | nibble, 0) };
    }
    case 'version': {
      if (payload.length !== 7) return garbled('not a version inquiry reply (expected 7 bytes)');
      return {
        type: 'version',
        vendorId: word(payload, 0),
        modelId: word(payload, 2),
        romVersion: word(payload, 4),
        socketCount: payload[6] ?? 0,
      };
    }
  }
}

function parseBroadcastReply(packet: Uint8Array, garbled: (reason: string) => ViscaReply): ViscaReply {
  if (packet.length === 4 && packet[1] === 0x30) {
    const next = packet[2] ?? 0;
    // The reply has passed every camera: the last one wrote its address + 1.
    if (next >= 1 && next <= VISCA_MAX_ADDRESS + 1) return { type: 'address-set', nextAddress: next };
  }
  if (packet.length === 5 && packet[1] === 0x01 && packet[2] === 0x00 && packet[3] === 0x01) return { type: 'if-clear' };
  return garbled('unknown broadcast reply');
}

function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

/** Any byte with the top bit set can start a packet except the terminator itself. */
function isHeaderByte(byte: number): boolean {
  return byte >= 0x80 && byte !== VISCA_TERMINATOR;
}

function assertAddress(address: number): void {
  if (!Number.isInteger(address) || address < VISCA_MIN_ADDRESS || address > VISCA_MAX_ADDRESS) {
    throw new RangeError(`VISCA address must be ${VISCA_MIN_ADDRESS}-${VISCA_MAX_ADDRESS}, got ${address}`);
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Reads "90 50 02 FF" or "905002ff"; for fixtures and tests. */
export function fromHex(hex: string): Uint8Array {
  const digits = hex.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new RangeError(`not hex bytes: ${hex}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

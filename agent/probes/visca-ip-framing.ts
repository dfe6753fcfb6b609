/**
 * Sony's VISCA over IP framing: every UDP datagram starts with an 8-byte header.
 *
 *   payload type (2 bytes)  01 00 VISCA command, 01 10 VISCA inquiry, 01 11 VISCA reply,
 *                           02 00 control command, 02 01 control reply
 *   payload length (2 bytes, big-endian), sequence number (4 bytes, big-endian), payload.
 *
 * The control command RESET (payload 01) sets the camera's sequence counter back; a camera that
 * sees a sequence number it does not expect answers the control reply 0F 01. Pure functions
 * over bytes; the socket lives in visca-ip-link.ts.
 */

export const SONY_VISCA_IP_HEADER_LENGTH = 8;
/** A VISCA packet is at most 16 bytes; control payloads are shorter still. */
const MAX_PAYLOAD_LENGTH = 16;

export const PAYLOAD_TYPE = {
  command: 0x0100,
  inquiry: 0x0110,
  reply: 0x0111,
  deviceSetting: 0x0120,
  control: 0x0200,
  controlReply: 0x0201,
} as const;

const CONTROL_RESET = 0x01;
const CONTROL_ERROR = 0x0f;
const CONTROL_ERROR_SEQUENCE = 0x01;
const CONTROL_ERROR_MESSAGE = 0x02;

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(PAYLOAD_TYPE));
const MAX_SEQUENCE = 0xffff_ffff;

export interface SonyDatagram {
  payloadType: number;
  sequence: number;
  payload: Uint8Array;
}

/** What a datagram from the camera means to the link. */
export type SonyMessage =
  | { kind: 'reply'; sequence: number; payload: Uint8Array }
  | { kind: 'reset-ack'; sequence: number }
  /** The camera expected another sequence number: reset, then send again. */
  | { kind: 'sequence-error'; sequence: number }
  /** The camera did not understand the message type or length. */
  | { kind: 'message-error'; sequence: number }
  | { kind: 'garbled'; reason: string };

export function encodeSonyDatagram({ payloadType, sequence, payload }: SonyDatagram): Uint8Array {
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) throw new RangeError(`sequence number out of range: ${sequence}`);
  const datagram = new Uint8Array(SONY_VISCA_IP_HEADER_LENGTH + payload.length);
  const view = new DataView(datagram.buffer);
  view.setUint16(0, payloadType);
  view.setUint16(2, payload.length);
  view.setUint32(4, sequence);
  datagram.set(payload, SONY_VISCA_IP_HEADER_LENGTH);
  return datagram;
}

/** A VISCA packet to the camera: inquiries (second byte 09) carry their own payload type. */
export function wrapVisca(packet: Uint8Array, sequence: number): Uint8Array {
  const payloadType = packet[1] === 0x09 ? PAYLOAD_TYPE.inquiry : PAYLOAD_TYPE.command;
  return encodeSonyDatagram({ payloadType, sequence, payload: packet });
}

export function sequenceReset(sequence = 0): Uint8Array {
  return encodeSonyDatagram({ payloadType: PAYLOAD_TYPE.control, sequence, payload: Uint8Array.of(CONTROL_RESET) });
}

export function decodeSonyDatagram(datagram: Uint8Array): SonyDatagram | { garbled: string } {
  if (datagram.length < SONY_VISCA_IP_HEADER_LENGTH) return { garbled: `datagram of ${datagram.length} bytes is shorter than the 8-byte header` };
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const payloadType = view.getUint16(0);
  const length = view.getUint16(2);
  if (!KNOWN_TYPES.has(payloadType)) return { garbled: `unknown payload type ${hex4(payloadType)}` };
  if (length > MAX_PAYLOAD_LENGTH) return { garbled: `payload length ${length} is longer than a VISCA packet` };
  if (datagram.length !== SONY_VISCA_IP_HEADER_LENGTH + length) {
    return { garbled: `header says ${length} payload bytes, datagram carries ${datagram.length - SONY_VISCA_IP_HEADER_LENGTH}` };
  }
  return { payloadType, sequence: view.getUint32(4), payload: datagram.slice(SONY_VISCA_IP_HEADER_LENGTH) };
}

/** Reads a datagram the camera sent back. */
export function readSonyMessage(datagram: Uint8Array): SonyMessage {
  const decoded = decodeSonyDatagram(datagram);
  if ('garbled' in decoded) return { kind: 'garbled', reason: decoded.garbled };
  const { payloadType, sequence, payload } = decoded;
  if (payloadType === PAYLOAD_TYPE.reply) return { kind: 'reply', sequence, payload };
  if (payloadType === PAYLOAD_TYPE.controlReply) {
    if (payload.length === 1 && payload[0] === CONTROL_RESET) return { kind: 'reset-ack', sequence };
    if (payload.length === 2 && payload[0] === CONTROL_ERROR && payload[1] === CONTROL_ERROR_SEQUENCE) return { kind: 'sequence-error', sequence };
    if (payload.length === 2 && payload[0] === CONTROL_ERROR && payload[1] === CONTROL_ERROR_MESSAGE) return { kind: 'message-error', sequence };
    return { kind: 'garbled', reason: 'unknown control reply' };
  }
  return { kind: 'garbled', reason: `a camera does not send payload type ${hex4(payloadType)}` };
}

/** True when the bytes start like a Sony header: lets a raw-framing client recognise a Sony camera. */
export function looksLikeSonyDatagram(datagram: Uint8Array): boolean {
  return !('garbled' in decodeSonyDatagram(datagram));
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}

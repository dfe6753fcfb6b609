/**
 * Terminals of USB audio and video functions (USB-IF "Terminal Types" for audio 1.0/2.0 and the
 * UVC 1.5 terminal types), read from class-specific descriptors, and what they say about a device:
 * which way its sound flows, whether its microphone is part of a headset, whether its picture
 * comes from a camera sensor or from an HDMI/SDI connector.
 */
import type { UsbTerminal } from '../../protocol/index.js';

export const TERMINAL_TYPE = {
  usbStreaming: 0x0101,
  // Audio input terminals 0x0200-0x02ff are microphones of every shape.
  microphoneFirst: 0x0200,
  microphoneLast: 0x02ff,
  handset: 0x0401,
  headset: 0x0402,
  speakerphoneFirst: 0x0403,
  speakerphoneLast: 0x0405,
  // Video input terminals.
  videoVendorSpecific: 0x0200,
  cameraSensor: 0x0201,
  mediaTransport: 0x0202,
  externalFirst: 0x0400,
  externalLast: 0x04ff,
} as const;

const CS_INTERFACE = 0x24;
const SUBTYPE_INPUT_TERMINAL = 0x02;
const SUBTYPE_OUTPUT_TERMINAL = 0x03;
const CLASS_AUDIO = 0x01;
const CLASS_VIDEO = 0x0e;
const SUBCLASS_CONTROL = 0x01;

/**
 * The terminals in one interface's class-specific descriptors (libusb's `extra` bytes). Only
 * control interfaces carry terminals; in both audio (1.0 and 2.0) and video classes the terminal
 * type is the little-endian word at offset 4. A truncated descriptor ends the walk.
 */
export function terminalsFromClassDescriptors(iface: { class: number; subClass: number }, extra: Uint8Array): UsbTerminal[] {
  const fn = iface.subClass !== SUBCLASS_CONTROL ? undefined : iface.class === CLASS_AUDIO ? 'audio' : iface.class === CLASS_VIDEO ? 'video' : undefined;
  if (fn === undefined) return [];
  const terminals: UsbTerminal[] = [];
  let offset = 0;
  while (offset + 2 <= extra.length) {
    const length = extra[offset] ?? 0;
    if (length < 2 || offset + length > extra.length) break;
    const subtype = extra[offset + 2];
    if (extra[offset + 1] === CS_INTERFACE && length >= 6 && (subtype === SUBTYPE_INPUT_TERMINAL || subtype === SUBTYPE_OUTPUT_TERMINAL)) {
      const type = (extra[offset + 4] ?? 0) | ((extra[offset + 5] ?? 0) << 8);
      terminals.push({ function: fn, direction: subtype === SUBTYPE_INPUT_TERMINAL ? 'input' : 'output', type });
    }
    offset += length;
  }
  return terminals;
}

/** What an audio function's terminals say; undefined when it has none we could read. */
export interface AudioFlow {
  /** Sound reaches the host: an output terminal of type USB streaming. */
  capture: boolean;
  /** Sound comes from the host: an input terminal of type USB streaming. */
  playback: boolean;
  microphone: boolean;
  headset: boolean;
  speakerphone: boolean;
}

export function audioFlow(terminals: readonly UsbTerminal[] | undefined): AudioFlow | undefined {
  const audio = (terminals ?? []).filter((terminal) => terminal.function === 'audio');
  if (audio.length === 0) return undefined;
  const isType = (first: number, last: number) => audio.some((terminal) => terminal.type >= first && terminal.type <= last);
  return {
    capture: audio.some((terminal) => terminal.direction === 'output' && terminal.type === TERMINAL_TYPE.usbStreaming),
    playback: audio.some((terminal) => terminal.direction === 'input' && terminal.type === TERMINAL_TYPE.usbStreaming),
    microphone: audio.some((terminal) => terminal.direction === 'input' && terminal.type >= TERMINAL_TYPE.microphoneFirst && terminal.type <= TERMINAL_TYPE.microphoneLast),
    headset: isType(TERMINAL_TYPE.handset, TERMINAL_TYPE.headset),
    speakerphone: isType(TERMINAL_TYPE.speakerphoneFirst, TERMINAL_TYPE.speakerphoneLast),
  };
}

/**
 * A video function fed by something other than a camera sensor: a connector (composite, S-Video,
 * component, or a vendor's external input such as HDMI or SDI), a vendor-specific input, a media
 * transport. That is a capture card. Undefined when no video input terminal could be read.
 */
export function videoFromConnector(terminals: readonly UsbTerminal[] | undefined): boolean | undefined {
  const inputs = (terminals ?? []).filter((terminal) => terminal.function === 'video' && terminal.direction === 'input');
  if (inputs.length === 0) return undefined;
  if (inputs.some((terminal) => terminal.type === TERMINAL_TYPE.cameraSensor)) return false;
  return inputs.some(
    (terminal) =>
      terminal.type === TERMINAL_TYPE.videoVendorSpecific ||
      terminal.type === TERMINAL_TYPE.mediaTransport ||
      (terminal.type >= TERMINAL_TYPE.externalFirst && terminal.type <= TERMINAL_TYPE.externalLast),
  );
}

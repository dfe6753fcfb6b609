import { describe, expect, it } from 'vitest';
import { audioFlow, terminalsFromClassDescriptors, videoFromConnector } from './usb-terminals.js';

const AUDIO_CONTROL = { class: 0x01, subClass: 0x01 };
const VIDEO_CONTROL = { class: 0x0e, subClass: 0x01 };

describe('terminals from class-specific descriptors (libusb `extra`)', () => {
  it('reads UAC1 input and output terminals and skips the units between them', () => {
    const extra = Uint8Array.of(
      ...[0x0a, 0x24, 0x01, 0x00, 0x01, 0x64, 0x00, 0x02, 0x01, 0x02], // header
      ...[0x0c, 0x24, 0x02, 0x01, 0x01, 0x01, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00], // IT 1: USB streaming
      ...[0x0c, 0x24, 0x02, 0x02, 0x01, 0x02, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00], // IT 2: microphone
      ...[0x09, 0x24, 0x06, 0x05, 0x02, 0x01, 0x01, 0x02, 0x00], // feature unit
      ...[0x09, 0x24, 0x03, 0x06, 0x01, 0x03, 0x00, 0x09, 0x00], // OT 6: speaker
      ...[0x09, 0x24, 0x03, 0x07, 0x01, 0x01, 0x00, 0x05, 0x00], // OT 7: USB streaming
    );
    const terminals = terminalsFromClassDescriptors(AUDIO_CONTROL, extra);
    expect(terminals).toEqual([
      { function: 'audio', direction: 'input', type: 0x0101 },
      { function: 'audio', direction: 'input', type: 0x0201 },
      { function: 'audio', direction: 'output', type: 0x0301 },
      { function: 'audio', direction: 'output', type: 0x0101 },
    ]);
    expect(audioFlow(terminals)).toEqual({ capture: true, playback: true, microphone: true, headset: false, speakerphone: false });
  });

  it('reads a UVC camera terminal and stops at a truncated descriptor', () => {
    const extra = Uint8Array.of(...[0x12, 0x24, 0x02, 0x01, 0x01, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0], ...[0x09, 0x24, 0x03]);
    const terminals = terminalsFromClassDescriptors(VIDEO_CONTROL, extra);
    expect(terminals).toEqual([{ function: 'video', direction: 'input', type: 0x0201 }]);
    expect(videoFromConnector(terminals)).toBe(false);
    expect(videoFromConnector([{ function: 'video', direction: 'input', type: 0x0401 }])).toBe(true);
    expect(videoFromConnector([])).toBeUndefined();
  });

  it('ignores interfaces that carry no terminals', () => {
    expect(terminalsFromClassDescriptors({ class: 0x01, subClass: 0x02 }, Uint8Array.of(0x07, 0x24, 0x01, 0x01, 0x01, 0x01, 0x00))).toEqual([]);
    expect(terminalsFromClassDescriptors({ class: 0x03, subClass: 0x00 }, Uint8Array.of(0x09, 0x21, 0x11, 0x01))).toEqual([]);
    expect(audioFlow(undefined)).toBeUndefined();
  });
});

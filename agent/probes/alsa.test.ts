import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { audioCardSchema } from '../../protocol/index.js';
import { buildClassroomLaptopTree, LAPTOP, noToolsInstalled, readFixture, replayCommands, type MediaTree } from '../../test/fixtures/media/build-tree.js';
import { isCaptureMuted, parseAsoundCards, parseCaptureSwitches, readAudioCards } from './alsa.js';
import { runInstalledCommand, type RunCommand } from './run-command.js';

const trees: MediaTree[] = [];
function laptop(): MediaTree {
  const tree = buildClassroomLaptopTree();
  trees.push(tree);
  return tree;
}
afterEach(() => {
  for (const tree of trees.splice(0)) rmSync(tree.root, { recursive: true, force: true });
});

function read(tree: MediaTree, runCommand: RunCommand) {
  return readAudioCards({ sysRoot: tree.sysRoot, procRoot: tree.procRoot, runCommand, signal: new AbortController().signal });
}

const amixerInstalled = (await runInstalledCommand('amixer', ['--version'], new AbortController().signal)).status !== 'not-installed';

const recordedAmixer = {
  'amixer -c 1 scontents': { status: 'ok', stdout: readFixture('amixer-scontents-c920-webcam-mic.txt') },
  'amixer -c 2 scontents': { status: 'ok', stdout: readFixture('amixer-scontents-jabra-speak-510-mic-muted.txt') },
} as const;

describe('parseAsoundCards', () => {
  it('reads index, id and name from each card line and skips the long-name lines', () => {
    const text = [
      ' 0 [HDMI           ]: HDA-Intel - HDA Intel HDMI',
      '                      HDA Intel HDMI at 0xf7e14000 irq 33',
      ' 2 [USB            ]: USB-Audio - Jabra SPEAK 510 USB',
      '                      Jabra SPEAK 510 USB at usb-0000:00:14.0-1.2, full speed',
      '',
    ].join('\n');
    expect(parseAsoundCards(text)).toEqual([
      { index: 0, id: 'HDMI', driver: 'HDA-Intel', name: 'HDA Intel HDMI' },
      { index: 2, id: 'USB', driver: 'USB-Audio', name: 'Jabra SPEAK 510 USB' },
    ]);
  });

  it('finds no card in the kernel\'s "no soundcards" listing', () => {
    expect(parseAsoundCards('--- no soundcards ---\n')).toEqual([]);
  });

  it('strips control characters a USB product string may carry', () => {
    const [card] = parseAsoundCards(' 1 [Evil           ]: USB-Audio - Speaker\u001b[2J\u0007Phone\n');
    expect(card?.name).toBe('Speaker [2J Phone');
  });
});

describe('isCaptureMuted', () => {
  it('is false for a webcam mic whose capture switch is on', () => {
    expect(isCaptureMuted(readFixture('amixer-scontents-c920-webcam-mic.txt'))).toBe(false);
  });

  it('is false for a speakerphone with its mic on and true once its mic switch is off', () => {
    expect(isCaptureMuted(readFixture('amixer-scontents-jabra-speak-510.txt'))).toBe(false);
    expect(isCaptureMuted(readFixture('amixer-scontents-jabra-speak-510-mic-muted.txt'))).toBe(true);
  });

  it('reads the state after "Capture" when one line holds both directions (Playback [off] Capture [on])', () => {
    const text = readFixture('amixer-scontents-usb-headset-playback-off-capture-on.txt');
    expect(parseCaptureSwitches(text)).toEqual([{ control: 'Mic', exclusive: false, on: [true] }]);
    expect(isCaptureMuted(text)).toBe(false);
  });

  it('is true when the HDA "Capture" switch is off even though a capture source is selected', () => {
    const text = readFixture('amixer-scontents-hda-capture-off-source-selected.txt');
    expect(parseCaptureSwitches(text).map((sw) => [sw.control, sw.exclusive, sw.on])).toEqual([
      ['Front Mic', true, [false, false]],
      ['Mic', true, [true, true]],
      ['Capture', false, [false, false]],
    ]);
    expect(isCaptureMuted(text)).toBe(true);
  });

  it('is false for a card whose mic has a volume but no switch: nothing can mute it', () => {
    expect(isCaptureMuted(readFixture('amixer-scontents-capture-volume-only.txt'))).toBe(false);
  });
});

describe('readAudioCards', () => {
  it('reads the HDMI card as playback-only with no USB port, and the USB cards with their ports', async () => {
    const tree = laptop();
    const cards = await read(tree, replayCommands(recordedAmixer).runCommand);
    expect(cards).toEqual([
      { index: 0, id: 'HDMI', name: 'HDA Intel HDMI', capture: false, playback: true },
      { index: 1, id: 'C920', name: 'HD Pro Webcam C920', capture: true, playback: false, captureMuted: false, usbPort: LAPTOP.webcamPort },
      { index: 2, id: 'USB', name: 'Jabra SPEAK 510 USB', capture: true, playback: true, captureMuted: true, usbPort: LAPTOP.speakerphonePort },
    ]);
    for (const card of cards) expect(audioCardSchema.safeParse(card).success).toBe(true);
  });

  it('asks amixer only about cards that can capture', async () => {
    const { runCommand, calls } = replayCommands(recordedAmixer);
    await read(laptop(), runCommand);
    expect(calls.sort()).toEqual(['amixer -c 1 scontents', 'amixer -c 2 scontents']);
  });

  it('leaves captureMuted out when amixer is not installed: unknown is not "unmuted"', async () => {
    const cards = await read(laptop(), noToolsInstalled);
    expect(cards.map((card) => 'captureMuted' in card)).toEqual([false, false, false]);
    expect(cards.map((card) => card.usbPort)).toEqual([undefined, LAPTOP.webcamPort, LAPTOP.speakerphonePort]);
  });

  it('leaves captureMuted out when amixer fails for a card', async () => {
    const cards = await read(laptop(), replayCommands({}).runCommand);
    expect(cards.some((card) => 'captureMuted' in card)).toBe(false);
  });

  // Where alsa-utils is installed, `amixer -c 1` would read that PC's own card 1, not the fixture's.
  it.skipIf(amixerInstalled)('runs with the real command runner on a PC without alsa-utils', async () => {
    const cards = await read(laptop(), runInstalledCommand);
    expect(cards.map((card) => card.captureMuted)).toEqual([undefined, undefined, undefined]);
  });
});

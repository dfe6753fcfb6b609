import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mediaInfoSchema, type Device } from '../../protocol/index.js';
import { parseAgentConfig } from '../config.js';
import { silentLogger } from '../../protocol/log.js';
import {
  buildClassroomLaptopTree,
  LAPTOP,
  MediaTreeBuilder,
  noToolsInstalled,
  readFixture,
  replayCommands,
  type MediaTree,
} from '../../test/fixtures/media/build-tree.js';
import { attachMediaToUsb, unmatchedMedia } from './media-match.js';
import { platformFor } from '../platform/platform.js';
import { createMediaProbe } from './media-probe.js';
import { runInstalledCommand } from './run-command.js';
import { runProbe, type ProbeContext } from './probe.js';

const context: ProbeContext = { config: parseAgentConfig({}), log: silentLogger };
const signal = new AbortController().signal;

const trees: MediaTree[] = [];
function track(tree: MediaTree): MediaTree {
  trees.push(tree);
  return tree;
}
afterEach(() => {
  for (const tree of trees.splice(0)) rmSync(tree.root, { recursive: true, force: true });
});

const hidDevices = existsSync('/sys/bus/hid/devices') ? readdirSync('/sys/bus/hid/devices').length : 0;
const thisPcHasMedia = existsSync('/sys/class/video4linux') || existsSync('/proc/asound') || hidDevices > 0;

describe('createMediaProbe on this PC', () => {
  it.runIf(process.platform === 'linux' && !thisPcHasMedia)(
    'reports unavailable, naming video4linux and ALSA, on a PC without either (a VM or CI runner)',
    async () => {
      const result = await runProbe(createMediaProbe(), context, 10_000);
      expect(result.status.state).toBe('unavailable');
      expect(result.status.reason).toBe(
        'no video4linux and no ALSA: this PC exposes no media devices (/sys/class/video4linux and /proc/asound are absent)',
      );
      expect(result.findings).toMatchObject({ devices: [] });
      expect(result.findings.media).toBeUndefined();
    },
  );

  it.runIf(process.platform === 'linux' && thisPcHasMedia)('reports ok with schema-valid lists on a PC with media nodes', async () => {
    const result = await runProbe(createMediaProbe(), context, 10_000);
    expect(result.status.state).toBe('ok');
    expect(mediaInfoSchema.safeParse(result.findings.media).success).toBe(true);
  });
});

describe('createMediaProbe', () => {
  it('is the media source of Linux only: Windows reads Plug and Play, macOS system_profiler (absent here, which it says)', async () => {
    expect(platformFor('linux').createMediaProbe().id).toBe('media');
    const mac = await platformFor('darwin').createMediaProbe().run(context, signal);
    expect(mac).toMatchObject({ state: 'unavailable', reasonKey: 'sourceReason.noSystemProfiler', devices: [] });
    // Loaded at its first run (not by a Linux daemon at start), and then the same probe every cycle.
    const windows = platformFor('win32').createMediaProbe();
    expect(windows.id).toBe('media');
    const first = await windows.run(context, signal);
    expect(first.state).toBe('unavailable');
    expect(await windows.run(context, signal)).toEqual(first);
  });

  it('reports unavailable with both paths when a tree has neither video4linux nor ALSA', async () => {
    const tree = track(new MediaTreeBuilder().finish());
    const findings = await createMediaProbe({ ...tree, runCommand: noToolsInstalled }).run(context, signal);
    expect(findings.state).toBe('unavailable');
    expect(findings.reason).toContain(join(tree.sysRoot, 'class/video4linux'));
    expect(findings.reason).toContain(join(tree.procRoot, 'asound'));
  });

  it('lists the laptop tree\'s video nodes and sound cards, reporting no devices of its own', async () => {
    const tree = track(buildClassroomLaptopTree());
    const { runCommand } = replayCommands({
      [`v4l2-ctl -d ${join(tree.devRoot, 'video0')} --info`]: { status: 'ok', stdout: readFixture('v4l2-ctl-info-uvc-capture.txt') },
      [`v4l2-ctl -d ${join(tree.devRoot, 'video1')} --info`]: { status: 'ok', stdout: readFixture('v4l2-ctl-info-uvc-metadata.txt') },
      'amixer -c 1 scontents': { status: 'ok', stdout: readFixture('amixer-scontents-c920-webcam-mic.txt') },
      'amixer -c 2 scontents': { status: 'ok', stdout: readFixture('amixer-scontents-jabra-speak-510.txt') },
    });
    const findings = await createMediaProbe({ ...tree, runCommand }).run(context, signal);

    expect(findings.state).toBe('ok');
    expect(findings.devices).toEqual([]);
    expect(mediaInfoSchema.parse(findings.media)).toEqual(findings.media);
    expect(findings.media?.videoNodes.map((node) => [node.path, node.canCapture, node.usbPort])).toEqual([
      [join(tree.devRoot, 'video0'), true, '1-1.4'],
      [join(tree.devRoot, 'video1'), false, '1-1.4'],
    ]);
    expect(findings.media?.audioCards.map((card) => [card.id, card.capture, card.playback, card.captureMuted, card.usbPort])).toEqual([
      ['HDMI', false, true, undefined, undefined],
      ['C920', true, false, false, '1-1.4'],
      ['USB', true, true, false, '1-1.2'],
    ]);
  });

  it('reports ok with no video nodes on a PC with ALSA but no video4linux', async () => {
    const builder = new MediaTreeBuilder();
    const parentDir = builder.usbInterface('1-2', 0, { interfaceClass: 0x01, subClass: 1, driver: 'snd-usb-audio' });
    builder.soundCard({ index: 0, id: 'USB', driver: 'USB-Audio', name: 'Jabra SPEAK 510 USB', longName: 'Jabra', parentDir, pcms: ['pcm0c', 'pcm0p'] });
    const tree = track(builder.finish());
    const findings = await createMediaProbe({ ...tree, runCommand: noToolsInstalled }).run(context, signal);
    expect(findings.state).toBe('ok');
    expect(findings.media?.videoNodes).toEqual([]);
    expect(findings.media?.audioCards.map((card) => card.usbPort)).toEqual(['1-2']);
  });

  it('reports ok with no sound cards on a PC with video4linux but no ALSA', async () => {
    const builder = new MediaTreeBuilder();
    const parentDir = builder.usbInterface('1-3', 0, { interfaceClass: 0x0e, subClass: 1, driver: 'uvcvideo' });
    builder.videoNode(0, { parentDir, name: 'USB Camera', index: 0 });
    const tree = track(builder.finish());
    const findings = await createMediaProbe({ ...tree, runCommand: noToolsInstalled }).run(context, signal);
    expect(findings.state).toBe('ok');
    expect(findings.media?.audioCards).toEqual([]);
    expect(findings.media?.videoNodes.map((node) => node.canCapture)).toEqual([true]);
  });

  it('feeds the matcher: the webcam gets its nodes, the dead camera none, the HDMI card stays unclaimed', async () => {
    const tree = track(buildClassroomLaptopTree());
    const findings = await createMediaProbe({ ...tree, runCommand: noToolsInstalled }).run(context, signal);
    const media = findings.media ?? { videoNodes: [], audioCards: [] };
    const usb = (id: string, kind: Device['kind'], portPath: string): Device => ({
      id,
      kind,
      name: id,
      connection: { type: 'usb', bus: 1, portPath },
      status: 'ok',
    });
    const devices = [usb('webcam', 'camera', LAPTOP.webcamPort), usb('dead', 'camera', LAPTOP.deadCameraPort), usb('jabra', 'speakerphone', LAPTOP.speakerphonePort)];

    const [webcam, dead, jabra] = attachMediaToUsb(devices, media);
    expect(webcam?.media?.videoNodes.filter((node) => node.canCapture)).toHaveLength(1);
    expect(dead?.media?.videoNodes).toEqual([]);
    expect(jabra?.media?.audioCards.map((card) => card.name)).toEqual(['Jabra SPEAK 510 USB']);
    expect(unmatchedMedia(devices, media).audioCards.map((card) => card.id)).toEqual(['HDMI']);
  });
});

describe('runInstalledCommand', () => {
  it('returns the output of a command that succeeds', async () => {
    const output = await runInstalledCommand(process.execPath, ['-e', 'process.stdout.write(process.env.LC_ALL ?? "")'], signal);
    expect(output).toEqual({ status: 'ok', stdout: 'C' });
  });

  it('reports a tool that is not installed as not-installed', async () => {
    expect(await runInstalledCommand('avcare-no-such-tool', ['--info'], signal)).toEqual({ status: 'not-installed' });
  });

  it('reports a tool that exits non-zero as failed with the reason', async () => {
    const output = await runInstalledCommand(process.execPath, ['-e', 'process.exit(3)'], signal);
    expect(output.status).toBe('failed');
    expect(output.status === 'failed' ? output.reason : '').toContain('Command failed');
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildClassroomLaptopTree, MediaTreeBuilder, type MediaTree } from '../../test/fixtures/media/build-tree.js';
import type { RunCommand } from '../probes/run-command.js';
import { traitsFor } from '../platform/platform-traits.js';
import { findRoomDevices } from './room-devices.js';

const cleanup: string[] = [];
afterEach(() => {
  for (const path of cleanup.splice(0)) rmSync(path, { recursive: true, force: true });
});

function track(tree: MediaTree): MediaTree {
  cleanup.push(tree.root);
  return tree;
}

/** An X server socket directory with display :0, as a logged-in classroom desktop has. */
function x11Dir(...displays: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'avcare-x11-'));
  cleanup.push(dir);
  for (const display of displays) writeFileSync(join(dir, display), '');
  return dir;
}

const ffmpegInstalled: RunCommand = (file) => Promise.resolve(file === 'ffmpeg' || file === 'ffplay' ? { status: 'ok', stdout: `${file} version 5.1` } : { status: 'not-installed' });
const nothingInstalled: RunCommand = () => Promise.resolve({ status: 'not-installed' });

describe('findRoomDevices', () => {
  it('finds the webcam, its microphone and the desktop display of a classroom laptop', async () => {
    const tree = track(buildClassroomLaptopTree());
    const found = await findRoomDevices({ enabled: true }, { ...tree, x11SocketDir: x11Dir('X1', 'X0'), env: {}, runCommand: ffmpegInstalled });
    expect(found).toEqual({ devices: { camera: join(tree.devRoot, 'video0'), microphone: 'plughw:CARD=C920', display: ':0' }, missing: [] });
  });

  it('uses the devices the config names over the ones it would find', async () => {
    const tree = track(buildClassroomLaptopTree());
    const found = await findRoomDevices(
      { enabled: true, camera: '/dev/video4', microphone: 'plughw:CARD=USB', display: ':1' },
      { ...tree, x11SocketDir: x11Dir(), env: { DISPLAY: ':0' }, runCommand: ffmpegInstalled },
    );
    expect(found.devices).toEqual({ camera: '/dev/video4', microphone: 'plughw:CARD=USB', display: ':1' });
  });

  it('says what this PC lacks, one reason each, when it has no devices, no desktop and no ffmpeg', async () => {
    const tree = track(new MediaTreeBuilder().finish());
    const found = await findRoomDevices({ enabled: true }, { ...tree, x11SocketDir: join(tree.root, 'no-x11'), env: {}, runCommand: nothingInstalled });
    expect(found.devices).toBeUndefined();
    expect(found.missing).toEqual([
      expect.stringContaining('ffmpeg is not installed'),
      expect.stringContaining('no display'),
      expect.stringContaining('no speakers'),
      expect.stringContaining('no camera'),
      expect.stringContaining('no microphone'),
    ]);
  });

  it('takes the display from DISPLAY when the agent runs inside the desktop session', async () => {
    const tree = track(buildClassroomLaptopTree());
    const found = await findRoomDevices({ enabled: true }, { ...tree, x11SocketDir: join(tree.root, 'none'), env: { DISPLAY: ':2' }, runCommand: ffmpegInstalled });
    expect(found.devices?.display).toBe(':2');
  });

  it('reports the room chain as turned off without looking at devices', async () => {
    const found = await findRoomDevices({ enabled: false }, { runCommand: () => Promise.reject(new Error('must not run')) });
    expect(found.missing).toEqual([expect.stringContaining('turned off')]);
  });

  it('on Windows and macOS says why the room is not measured, without looking at devices', async () => {
    for (const platform of ['win32', 'darwin'] as const) {
      const found = await findRoomDevices({ enabled: true }, { runCommand: () => Promise.reject(new Error('must not run')), traits: traitsFor(platform) });
      expect(found.missing).toEqual([expect.stringMatching(/^the A\/V sync room chain .* the A\/V sync test runs through the pipeline, without the room$/)]);
    }
  });

  it('does not count a metadata-only video node as a camera', async () => {
    const builder = new MediaTreeBuilder();
    const parent = builder.usbInterface('1-1', 0, { interfaceClass: 0x0e, subClass: 1, driver: 'uvcvideo' });
    builder.videoNode(1, { parentDir: parent, name: 'metadata', index: 1 });
    const tree = track(builder.finish());
    const found = await findRoomDevices({ enabled: true }, { ...tree, x11SocketDir: x11Dir('X0'), env: {}, runCommand: ffmpegInstalled });
    expect(found.missing).toContain('no camera: no video capture device (/dev/video*)');
  });
});

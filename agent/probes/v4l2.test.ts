import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { videoNodeSchema } from '../../protocol/index.js';
import {
  buildClassroomLaptopTree,
  LAPTOP,
  MediaTreeBuilder,
  noToolsInstalled,
  readFixture,
  replayCommands,
  type MediaTree,
} from '../../test/fixtures/media/build-tree.js';
import { runInstalledCommand, type RunCommand } from './run-command.js';
import { capabilityNames, inferCapabilities, parseDeviceCaps, readVideoNodes } from './v4l2.js';

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
  return readVideoNodes({ sysRoot: tree.sysRoot, devRoot: tree.devRoot, runCommand, signal: new AbortController().signal });
}

function recordedV4l2Ctl(tree: MediaTree) {
  return replayCommands({
    [`v4l2-ctl -d ${join(tree.devRoot, 'video0')} --info`]: { status: 'ok', stdout: readFixture('v4l2-ctl-info-uvc-capture.txt') },
    [`v4l2-ctl -d ${join(tree.devRoot, 'video1')} --info`]: { status: 'ok', stdout: readFixture('v4l2-ctl-info-uvc-metadata.txt') },
  });
}

describe('parseDeviceCaps', () => {
  it('reads the node caps of a UVC capture node, not the whole-device caps', () => {
    const mask = parseDeviceCaps(readFixture('v4l2-ctl-info-uvc-capture.txt'));
    expect(mask).toBe(0x04200001);
    expect(capabilityNames(mask ?? 0)).toEqual(['video-capture', 'extended-pix-format', 'streaming']);
  });

  it('sees that a UVC metadata node cannot capture video although its device can', () => {
    const mask = parseDeviceCaps(readFixture('v4l2-ctl-info-uvc-metadata.txt'));
    expect(mask).toBe(0x04a00000);
    expect(capabilityNames(mask ?? 0)).toEqual(['extended-pix-format', 'metadata-capture', 'streaming']);
  });

  it('falls back to Capabilities when an old v4l2-ctl prints no Device Caps', () => {
    expect(parseDeviceCaps(readFixture('v4l2-ctl-info-old-kernel-no-device-caps.txt'))).toBe(0x04000001);
  });

  it('gives undefined for output that is not v4l2-ctl --info', () => {
    expect(parseDeviceCaps('Failed to open /dev/video0: Permission denied\n')).toBeUndefined();
  });
});

describe('inferCapabilities', () => {
  it('takes even uvcvideo indexes as capture and odd ones as metadata', () => {
    expect(inferCapabilities(0, 'uvcvideo')).toEqual(['video-capture', 'streaming']);
    expect(inferCapabilities(1, 'uvcvideo')).toEqual(['metadata-capture', 'streaming']);
    expect(inferCapabilities(2, 'uvcvideo')).toEqual(['video-capture', 'streaming']);
  });

  it('claims nothing about higher indexes of other drivers or a node without an index', () => {
    expect(inferCapabilities(0, 'em28xx')).toContain('video-capture');
    expect(inferCapabilities(1, 'em28xx')).toEqual([]);
    expect(inferCapabilities(undefined, undefined)).toEqual([]);
  });
});

describe('readVideoNodes', () => {
  it('tells the capture node from the metadata node with v4l2-ctl and ties both to USB port 1-1.4', async () => {
    const tree = laptop();
    const { runCommand } = recordedV4l2Ctl(tree);
    const nodes = await read(tree, runCommand);

    expect(nodes).toEqual([
      {
        path: join(tree.devRoot, 'video0'),
        name: 'HD Pro Webcam C920',
        capabilities: ['video-capture', 'extended-pix-format', 'streaming'],
        canCapture: true,
        usbPort: LAPTOP.webcamPort,
      },
      {
        path: join(tree.devRoot, 'video1'),
        name: 'HD Pro Webcam C920',
        capabilities: ['extended-pix-format', 'metadata-capture', 'streaming'],
        canCapture: false,
        usbPort: LAPTOP.webcamPort,
      },
    ]);
    for (const node of nodes) expect(videoNodeSchema.safeParse(node).success).toBe(true);
  });

  it('infers caps from the sysfs index and says so when v4l2-ctl is not installed', async () => {
    const nodes = await read(laptop(), noToolsInstalled);
    expect(nodes.every((node) => node.capabilitiesInferred === true)).toBe(true);
    expect(nodes.map((node) => [node.canCapture, node.capabilities])).toEqual([
      [true, ['video-capture', 'streaming']],
      [false, ['metadata-capture', 'streaming']],
    ]);
  });

  it('infers caps when v4l2-ctl fails on the node (no permission on /dev/videoN)', async () => {
    const nodes = await read(laptop(), replayCommands({}).runCommand);
    expect(nodes.every((node) => node.capabilitiesInferred === true)).toBe(true);
    expect(nodes[0]?.canCapture).toBe(true);
  });

  it('runs with the real command runner on a PC without a usable v4l2-ctl', async () => {
    // Here v4l2-ctl is missing; where it is installed it fails on the fixture's plain-file nodes.
    const nodes = await read(laptop(), runInstalledCommand);
    expect(nodes.map((node) => node.capabilitiesInferred === true)).toEqual([true, true]);
  });

  it('asks v4l2-ctl once per node, by device path', async () => {
    const tree = laptop();
    const { runCommand, calls } = recordedV4l2Ctl(tree);
    await read(tree, runCommand);
    expect(calls.sort()).toEqual([`v4l2-ctl -d ${join(tree.devRoot, 'video0')} --info`, `v4l2-ctl -d ${join(tree.devRoot, 'video1')} --info`]);
  });

  it('queries nodes in parallel, so a camera whose v4l2-ctl hangs does not hold up the others', async () => {
    const tree = laptop();
    let releaseVideo0: () => void = () => undefined;
    const video0Released = new Promise<void>((resolve) => (releaseVideo0 = resolve));
    // video0's v4l2-ctl answers only once video1's has been asked: read one by one, this never ends.
    const runCommand: RunCommand = async (_file, args) => {
      if (args.includes(join(tree.devRoot, 'video0'))) await video0Released;
      else releaseVideo0();
      return { status: 'not-installed' };
    };
    const nodes = await read(tree, runCommand);
    expect(nodes).toHaveLength(2);
  });

  it('gives a node without a device link (v4l2loopback) no USB port, and strips control characters from its name', async () => {
    const builder = new MediaTreeBuilder();
    const tree = builder.finish();
    trees.push(tree);
    const nodeDir = join(tree.sysRoot, 'devices/virtual/video4linux/video7');
    mkdirSync(nodeDir, { recursive: true });
    writeFileSync(join(nodeDir, 'name'), 'Dummy\u0007 video\u001b[31m device\n');
    writeFileSync(join(nodeDir, 'index'), '0\n');
    mkdirSync(join(tree.sysRoot, 'class/video4linux'), { recursive: true });
    symlinkSync('../../devices/virtual/video4linux/video7', join(tree.sysRoot, 'class/video4linux/video7'));

    const [node] = await read(tree, noToolsInstalled);
    expect(node?.usbPort).toBeUndefined();
    expect(node?.name).toBe('Dummy video [31m device');
    expect(node?.path).toBe(join(tree.devRoot, 'video7'));
  });

  it('lists nodes in number order, video2 before video10', async () => {
    const builder = new MediaTreeBuilder();
    const parentDir = builder.usbInterface('3-2', 0, { interfaceClass: 0x0e, subClass: 1, driver: 'uvcvideo' });
    builder.videoNode(10, { parentDir, name: 'B', index: 1 });
    builder.videoNode(2, { parentDir, name: 'A', index: 0 });
    const tree = builder.finish();
    trees.push(tree);
    const nodes = await read(tree, noToolsInstalled);
    expect(nodes.map((node) => [node.name, node.usbPort])).toEqual([
      ['A', '3-2'],
      ['B', '3-2'],
    ]);
  });

  it('returns no nodes when /sys/class/video4linux does not exist', async () => {
    const tree = new MediaTreeBuilder().finish();
    trees.push(tree);
    expect(await read(tree, noToolsInstalled)).toEqual([]);
  });

  it('stops when the probe is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('probe timeout'));
    const tree = laptop();
    await expect(
      readVideoNodes({ sysRoot: tree.sysRoot, devRoot: tree.devRoot, runCommand: noToolsInstalled, signal: controller.signal }),
    ).rejects.toThrow('probe timeout');
  });
});

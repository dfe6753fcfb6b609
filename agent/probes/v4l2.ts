import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { untrustedText, type VideoNode } from '../../protocol/index.js';
import { readOptionalText, resolveOptionalLink } from './sysfs.js';
import { usbPortFromSysfsPath } from './media-match.js';
import type { RunCommand } from './run-command.js';

/** Device capability bits from linux/videodev2.h (V4L2_CAP_*), named as avcare reports them. */
const V4L2_CAPABILITY_BITS: ReadonlyArray<readonly [number, string]> = [
  [0x00000001, 'video-capture'],
  [0x00000002, 'video-output'],
  [0x00000004, 'video-overlay'],
  [0x00000010, 'vbi-capture'],
  [0x00000020, 'vbi-output'],
  [0x00000040, 'sliced-vbi-capture'],
  [0x00000080, 'sliced-vbi-output'],
  [0x00000100, 'rds-capture'],
  [0x00000200, 'video-output-overlay'],
  [0x00000400, 'hw-freq-seek'],
  [0x00000800, 'rds-output'],
  [0x00001000, 'video-capture-multiplanar'],
  [0x00002000, 'video-output-multiplanar'],
  [0x00004000, 'video-m2m-multiplanar'],
  [0x00008000, 'video-m2m'],
  [0x00010000, 'tuner'],
  [0x00020000, 'audio'],
  [0x00040000, 'radio'],
  [0x00080000, 'modulator'],
  [0x00100000, 'sdr-capture'],
  [0x00200000, 'extended-pix-format'],
  [0x00400000, 'sdr-output'],
  [0x00800000, 'metadata-capture'],
  [0x01000000, 'read-write'],
  [0x04000000, 'streaming'],
  [0x08000000, 'metadata-output'],
  [0x10000000, 'touch'],
  [0x20000000, 'io-mc'],
];

const CAPTURE_CAPABILITIES = new Set(['video-capture', 'video-capture-multiplanar']);
const MAX_NAME_LENGTH = 256;

export interface V4l2ReadOptions {
  sysRoot: string;
  devRoot: string;
  runCommand: RunCommand;
  signal: AbortSignal;
}

/** Every /sys/class/video4linux/videoN node, in node-number order. */
export async function readVideoNodes(options: V4l2ReadOptions): Promise<VideoNode[]> {
  const classDir = join(options.sysRoot, 'class', 'video4linux');
  let entries: string[];
  try {
    entries = await readdir(classDir);
  } catch (error) {
    // The directory exists only while the videodev module is loaded: absent means no nodes.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const nodeNames = entries.filter((entry) => /^video\d+$/.test(entry)).sort((a, b) => nodeNumber(a) - nodeNumber(b));
  options.signal.throwIfAborted();
  // In parallel: one wedged camera holds its v4l2-ctl for the whole command timeout, and the
  // others must still be read within the probe timeout.
  return Promise.all(nodeNames.map((nodeName) => readVideoNode(join(classDir, nodeName), nodeName, options)));
}

async function readVideoNode(nodeDir: string, nodeName: string, options: V4l2ReadOptions): Promise<VideoNode> {
  const path = join(options.devRoot, nodeName);
  const [rawName, rawIndex, devicePath, driverPath] = await Promise.all([
    readOptionalText(join(nodeDir, 'name')),
    readOptionalText(join(nodeDir, 'index')),
    resolveOptionalLink(join(nodeDir, 'device')),
    resolveOptionalLink(join(nodeDir, 'device', 'driver')),
  ]);
  const name = cleanSysfsText(rawName ?? '') || nodeName;
  const index = rawIndex === undefined ? undefined : Number.parseInt(rawIndex, 10);
  const driver = driverPath === undefined ? undefined : basename(driverPath);

  const queried = await queryCapabilities(path, options);
  const capabilities = queried ?? inferCapabilities(Number.isNaN(index) ? undefined : index, driver);
  const node: VideoNode = {
    path,
    name,
    capabilities,
    canCapture: capabilities.some((capability) => CAPTURE_CAPABILITIES.has(capability)),
  };
  if (queried === undefined) node.capabilitiesInferred = true;
  const usbPort = devicePath === undefined ? undefined : usbPortFromSysfsPath(devicePath);
  if (usbPort !== undefined) node.usbPort = usbPort;
  return node;
}

async function queryCapabilities(path: string, options: V4l2ReadOptions): Promise<string[] | undefined> {
  const output = await options.runCommand('v4l2-ctl', ['-d', path, '--info'], options.signal);
  if (output.status !== 'ok') return undefined;
  const mask = parseDeviceCaps(output.stdout);
  return mask === undefined ? undefined : capabilityNames(mask);
}

/**
 * The capability mask of this node from `v4l2-ctl --info`. "Device Caps" describes the node;
 * "Capabilities" describes the whole device (a UVC metadata node shows Video Capture there), so it
 * is used only when an old tool prints no Device Caps. The hex is read, not the labels under it,
 * because the labels differ between v4l-utils versions.
 */
export function parseDeviceCaps(info: string): number | undefined {
  const deviceCaps = /^\s*Device Caps\s*:\s*0x([0-9a-f]{1,8})\s*$/im.exec(info);
  const wholeDevice = /^\s*Capabilities\s*:\s*0x([0-9a-f]{1,8})\s*$/im.exec(info);
  const hex = deviceCaps?.[1] ?? wholeDevice?.[1];
  return hex === undefined ? undefined : Number.parseInt(hex, 16);
}

export function capabilityNames(mask: number): string[] {
  return V4L2_CAPABILITY_BITS.filter(([bit]) => (mask & bit) !== 0).map(([, name]) => name);
}

/**
 * Without VIDIOC_QUERYCAP (Node cannot ioctl; v4l2-ctl missing or failed) the sysfs index decides.
 * Since Linux 4.16 uvcvideo registers, for each video stream of a camera, a capture node and then a
 * metadata node, so its even indexes (0, 2) capture and its odd ones (1, 3) carry metadata. Other
 * drivers register their main capture node first, so index 0 is taken as capture for them too and
 * their higher indexes are left unknown.
 */
export function inferCapabilities(index: number | undefined, driver: string | undefined): string[] {
  const capture = ['video-capture', 'streaming'];
  if (index === undefined) return [];
  if (driver === 'uvcvideo') return index % 2 === 0 ? capture : ['metadata-capture', 'streaming'];
  return index === 0 ? capture : [];
}

function nodeNumber(nodeName: string): number {
  return Number.parseInt(nodeName.slice('video'.length), 10);
}

/** sysfs `name` holds the camera's USB product string: untrusted. */
function cleanSysfsText(text: string): string {
  return untrustedText(text, MAX_NAME_LENGTH) ?? '';
}



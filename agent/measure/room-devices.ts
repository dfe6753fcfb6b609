/**
 * What the room chain needs and whether this PC has it: a display to flash, speakers to beep, a
 * camera and a microphone to capture both, and ffmpeg/ffplay to drive them. Each thing missing
 * becomes one readable reason in the result, so "not measured" says why and what to fix.
 */
import { readdir } from 'node:fs/promises';
import { PLATFORM_TRAITS, type PlatformTraits } from '../platform/platform-traits.js';
import { readAudioCards } from '../probes/alsa.js';
import { readVideoNodes } from '../probes/v4l2.js';
import { runInstalledCommand, type RunCommand } from '../probes/run-command.js';

export interface RoomChainSettings {
  enabled: boolean;
  /** A v4l2 node; the first capture node when unset. */
  camera?: string | undefined;
  /** An ALSA capture device; the first capture card when unset. */
  microphone?: string | undefined;
  /** An X display (":0"); the desktop session's when unset. */
  display?: string | undefined;
}

export interface RoomDevices {
  camera: string;
  microphone: string;
  display: string;
}

export interface RoomDeviceLookup {
  sysRoot?: string;
  devRoot?: string;
  procRoot?: string;
  x11SocketDir?: string;
  env?: NodeJS.ProcessEnv;
  runCommand?: RunCommand;
  signal?: AbortSignal;
  traits?: PlatformTraits;
}

export type RoomDeviceResult = { devices: RoomDevices; missing: [] } | { devices?: undefined; missing: string[] };

export async function findRoomDevices(settings: RoomChainSettings, lookup: RoomDeviceLookup = {}): Promise<RoomDeviceResult> {
  if (!settings.enabled) return { missing: ['the room chain is turned off (measure.room.enabled)'] };
  const cannot = (lookup.traits ?? PLATFORM_TRAITS).noRoomChain;
  if (cannot) return { missing: [cannot] };
  const { sysRoot = '/sys', devRoot = '/dev', procRoot = '/proc', x11SocketDir = '/tmp/.X11-unix', env = process.env, runCommand = runInstalledCommand } = lookup;
  const signal = lookup.signal ?? new AbortController().signal;
  const [ffmpeg, ffplay, videoNodes, audioCards, display] = await Promise.all([
    runCommand('ffmpeg', ['-hide_banner', '-version'], signal),
    runCommand('ffplay', ['-hide_banner', '-version'], signal),
    settings.camera === undefined ? readVideoNodes({ sysRoot, devRoot, runCommand, signal }) : Promise.resolve([]),
    readAudioCards({ sysRoot, procRoot, runCommand, signal }),
    settings.display === undefined ? desktopDisplay(env, x11SocketDir) : Promise.resolve(settings.display),
  ]);
  const missing: string[] = [];
  if (ffmpeg.status !== 'ok' || ffplay.status !== 'ok') missing.push('ffmpeg is not installed: it plays the markers and captures the camera and microphone (apt install ffmpeg)');
  if (display === undefined) missing.push('no display: no desktop session on this PC (no DISPLAY, no X server) to show the flash on');
  if (!audioCards.some((card) => card.playback)) missing.push('no speakers: no sound card that plays');
  const camera = settings.camera ?? videoNodes.find((node) => node.canCapture)?.path;
  if (camera === undefined) missing.push('no camera: no video capture device (/dev/video*)');
  const captureCard = audioCards.find((card) => card.capture);
  const microphone = settings.microphone ?? (captureCard === undefined ? undefined : `plughw:CARD=${captureCard.id}`);
  if (microphone === undefined) missing.push('no microphone: no sound card that records');
  if (missing.length > 0 || camera === undefined || microphone === undefined || display === undefined) return { missing };
  return { devices: { camera, microphone, display }, missing: [] };
}

/**
 * The agent runs as a service, outside the desktop session, so DISPLAY is usually unset; the X
 * server's socket says which display the classroom shows.
 */
async function desktopDisplay(env: NodeJS.ProcessEnv, x11SocketDir: string): Promise<string | undefined> {
  if (env['DISPLAY']) return env['DISPLAY'];
  let sockets: string[];
  try {
    sockets = await readdir(x11SocketDir);
  } catch {
    // No socket directory: no X server runs on this PC.
    return undefined;
  }
  const numbers = sockets.map((name) => /^X(\d+)$/.exec(name)?.[1]).filter((number) => number !== undefined).map(Number).sort((a, b) => a - b);
  return numbers.length === 0 ? undefined : `:${numbers[0]}`;
}

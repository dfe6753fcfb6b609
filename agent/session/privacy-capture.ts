/**
 * The two privacy actions: one still picture from the room's camera and a few seconds of its
 * microphone, each through ffmpeg, small enough for one answer. They run only when the school
 * granted them by name (checked before this code is reached), read only a capture device (a
 * /dev/video node, an ALSA capture card, a DirectShow device on Windows), never a file, and keep
 * nothing on the PC.
 */
import { execFile, spawn } from 'node:child_process';
import { AvcareError } from '../../protocol/errors.js';
import { DSHOW_NAME } from '../config.js';
import { PLATFORM_TRAITS, type PlatformTraits } from '../platform/platform-traits.js';
import { readFfmpegDeviceList, type FfmpegDevice } from '../pasted/ffmpeg-device-list.js';
import { readAudioCards } from '../probes/alsa.js';
import { readVideoNodes } from '../probes/v4l2.js';
import { runInstalledCommand } from '../probes/run-command.js';

const FFMPEG_MISSING = 'ffmpeg is not installed (Debian and UOS: apt install ffmpeg; Windows: winget install Gyan.FFmpeg)';

/** What an answer may carry as base64, with room for its own fields (64 KB in all). */
export const MAX_CAPTURE_BYTES = 44 * 1024;

/** Only capture devices: an engineer's argument can never make ffmpeg open a file. */
const VIDEO_NODE = /^\/dev\/video\d{1,3}$/;
/** An ALSA PCM name as the agent's config accepts it: no path separator, so never a file. */
const ALSA_DEVICE = /^[\w:=,.-]{1,128}$/;

export interface CaptureSources {
  /** The configured camera and microphone (measure.room.*), if any. */
  camera?: string | undefined;
  microphone?: string | undefined;
  /** For tests: ffmpeg input arguments instead of the device (a lavfi source). */
  videoInput?: string[];
  audioInput?: string[];
  sysRoot?: string;
  devRoot?: string;
  procRoot?: string;
  traits?: PlatformTraits;
  /** Windows: the DirectShow devices (tests give their own; ffmpeg -list_devices by default). */
  listDshowDevices?: (signal: AbortSignal) => Promise<FfmpegDevice[]>;
}

/** Where the room's devices cannot be captured, the action says so before it looks for them. */
function refuseWithoutRoomCapture(sources: CaptureSources): void {
  const traits = sources.traits ?? PLATFORM_TRAITS;
  if (traits.captureDevices === null) throw new AvcareError('ACTION_UNAVAILABLE', traits.noCapture ?? 'the room\'s camera and microphone cannot be captured on this system');
}


/** Windows: the named DirectShow device, or the first of its kind ffmpeg lists. */
async function dshowInput(kind: 'video' | 'audio', requested: string | undefined, sources: CaptureSources, signal: AbortSignal): Promise<{ device: string; input: string[] }> {
  let name = requested;
  if (name === undefined) {
    const listed = await (sources.listDshowDevices ?? listDshowDevices)(signal);
    name = listed.find((device) => device.media === kind)?.name;
  }
  const what = kind === 'video' ? 'camera' : 'microphone';
  if (name === undefined) throw new AvcareError('ACTION_UNAVAILABLE', `no ${what}: ffmpeg lists no DirectShow ${kind} device on this PC`);
  if (!DSHOW_NAME.test(name)) throw new AvcareError('INVALID_ARGUMENT', `${what} "${name.slice(0, 80)}" is not a DirectShow device name as ffmpeg -list_devices prints it`);
  return { device: name, input: ['-f', 'dshow', '-i', `${kind}=${name}`] };
}

/** ffmpeg's own list of DirectShow devices (it prints it on stderr and exits non-zero by design). */
function listDshowDevices(signal: AbortSignal): Promise<FfmpegDevice[]> {
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', ['-hide_banner', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy'], { signal, timeout: 10_000, windowsHide: true }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new AvcareError('ACTION_UNAVAILABLE', FFMPEG_MISSING));
      else resolve(readFfmpegDeviceList(`${stdout}\n${stderr}`));
    });
  });
}

export async function snapshotInput(requested: string | undefined, sources: CaptureSources, signal: AbortSignal): Promise<{ device: string; input: string[] }> {
  if (sources.videoInput) return { device: 'test source', input: sources.videoInput };
  refuseWithoutRoomCapture(sources);
  if ((sources.traits ?? PLATFORM_TRAITS).captureDevices === 'dshow') return dshowInput('video', requested ?? sources.camera, sources, signal);
  const device = requested ?? sources.camera ?? (await readVideoNodes({ sysRoot: sources.sysRoot ?? '/sys', devRoot: sources.devRoot ?? '/dev', runCommand: runInstalledCommand, signal })).find((node) => node.canCapture)?.path;
  if (device === undefined) throw new AvcareError('ACTION_UNAVAILABLE', 'no camera: no video capture device (/dev/video*) on this PC');
  if (!VIDEO_NODE.test(device)) throw new AvcareError('INVALID_ARGUMENT', `camera "${device}" is not a video capture node (/dev/videoN)`);
  return { device, input: ['-f', 'v4l2', '-i', device] };
}

export async function clipInput(sources: CaptureSources, signal: AbortSignal): Promise<{ device: string; input: string[] }> {
  if (sources.audioInput) return { device: 'test source', input: sources.audioInput };
  refuseWithoutRoomCapture(sources);
  if ((sources.traits ?? PLATFORM_TRAITS).captureDevices === 'dshow') return dshowInput('audio', sources.microphone, sources, signal);
  const card = sources.microphone === undefined ? (await readAudioCards({ sysRoot: sources.sysRoot ?? '/sys', procRoot: sources.procRoot ?? '/proc', runCommand: runInstalledCommand, signal })).find((candidate) => candidate.capture) : undefined;
  const device = sources.microphone ?? (card === undefined ? undefined : `plughw:CARD=${card.id}`);
  if (device === undefined) throw new AvcareError('ACTION_UNAVAILABLE', 'no microphone: no sound card that records on this PC');
  if (!ALSA_DEVICE.test(device)) throw new AvcareError('INVALID_ARGUMENT', `microphone "${device}" is not an ALSA device name (plughw:CARD=NAME)`);
  return { device, input: ['-f', 'alsa', '-i', device] };
}

/** One JPEG frame, scaled down until it fits an answer. */
export async function takeSnapshot(camera: { device: string; input: string[] }, signal: AbortSignal): Promise<{ camera: string; format: 'jpeg'; width: number; bytes: number; base64: string }> {
  for (const [width, quality] of [
    [640, 8],
    [480, 14],
    [320, 20],
  ] as const) {
    const jpeg = await runFfmpeg([...camera.input, '-frames:v', '1', '-vf', `scale='min(${width},iw)':-2`, '-q:v', String(quality), '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1'], signal);
    if (jpeg.length <= MAX_CAPTURE_BYTES) return { camera: camera.device, format: 'jpeg', width, bytes: jpeg.length, base64: jpeg.toString('base64') };
  }
  throw new AvcareError('ACTION_FAILED', 'the snapshot does not fit in one answer even at 320 pixels wide');
}

/** A few seconds of the microphone as Opus at 16 kbit/s mono: 10 s is about 20 KB. */
export async function recordClip(microphone: { device: string; input: string[] }, seconds: number, signal: AbortSignal): Promise<{ microphone: string; format: 'ogg/opus'; seconds: number; bytes: number; base64: string }> {
  const ogg = await runFfmpeg([...microphone.input, '-t', String(seconds), '-ac', '1', '-ar', '16000', '-c:a', 'libopus', '-b:a', '16k', '-f', 'ogg', 'pipe:1'], signal);
  if (ogg.length > MAX_CAPTURE_BYTES) throw new AvcareError('ACTION_FAILED', `the clip is ${ogg.length} bytes, over the ${MAX_CAPTURE_BYTES} an answer may carry`);
  return { microphone: microphone.device, format: 'ogg/opus', seconds, bytes: ogg.length, base64: ogg.toString('base64') };
}

/** Runs ffmpeg with its output on a pipe, bounded in size and by the caller's deadline; its own error text says what failed. */
function runFfmpeg(args: string[], signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Four times the limit is plenty to know it will not fit; beyond that nothing is kept.
      if (size > 4 * MAX_CAPTURE_BYTES) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new AvcareError('ACTION_UNAVAILABLE', FFMPEG_MISSING) : error);
    });
    child.on('close', (code) => {
      if (signal.aborted) return;
      if (code === 0 || size > 4 * MAX_CAPTURE_BYTES) resolve(Buffer.concat(chunks));
      else reject(new AvcareError('ACTION_UNAVAILABLE', `ffmpeg could not capture: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}`));
    });
  });
}

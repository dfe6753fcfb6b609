import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { untrustedText, type AudioCard } from '../../protocol/index.js';
import { readOptionalText, resolveOptionalLink } from './sysfs.js';
import { usbPortFromSysfsPath } from './media-match.js';
import type { RunCommand } from './run-command.js';

const MAX_ID_LENGTH = 64;
const MAX_NAME_LENGTH = 256;

export interface AlsaReadOptions {
  sysRoot: string;
  procRoot: string;
  runCommand: RunCommand;
  signal: AbortSignal;
}

/** One card as /proc/asound/cards lists it. */
export interface AsoundCardLine {
  index: number;
  id: string;
  driver: string;
  name: string;
}

/** Every ALSA card, in card-index order. */
export async function readAudioCards(options: AlsaReadOptions): Promise<AudioCard[]> {
  const listing = await readOptionalText(join(options.procRoot, 'asound', 'cards'));
  if (listing === undefined) return [];
  options.signal.throwIfAborted();
  return Promise.all(parseAsoundCards(listing).map((line) => readAudioCard(line, options)));
}

async function readAudioCard(line: AsoundCardLine, options: AlsaReadOptions): Promise<AudioCard> {
  const [streams, devicePath] = await Promise.all([
    readPcmDirections(join(options.procRoot, 'asound', `card${line.index}`)),
    resolveOptionalLink(join(options.sysRoot, 'class', 'sound', `card${line.index}`, 'device')),
  ]);
  const card: AudioCard = { index: line.index, id: line.id, name: line.name, capture: streams.capture, playback: streams.playback };
  if (streams.capture) {
    const muted = await readCaptureMuted(line.index, options);
    if (muted !== undefined) card.captureMuted = muted;
  }
  const usbPort = devicePath === undefined ? undefined : usbPortFromSysfsPath(devicePath);
  if (usbPort !== undefined) card.usbPort = usbPort;
  return card;
}

/**
 * Parses /proc/asound/cards: each card is a line " 1 [C920           ]: USB-Audio - HD Pro Webcam C920"
 * followed by an indented long name, which is skipped.
 */
export function parseAsoundCards(text: string): AsoundCardLine[] {
  const cards: AsoundCardLine[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+)\s+\[([^\]]*)\]:\s*(.*?)\s+-\s+(.*)$/.exec(line);
    if (match === null) continue;
    const [, index, id, driver, name] = match;
    cards.push({
      index: Number.parseInt(index ?? '', 10),
      id: cleanText(id ?? '', MAX_ID_LENGTH),
      driver: cleanText(driver ?? '', MAX_NAME_LENGTH),
      name: cleanText(name ?? '', MAX_NAME_LENGTH),
    });
  }
  return cards;
}

/** /proc/asound/cardN holds pcmXc for each capture PCM device and pcmXp for each playback one. */
async function readPcmDirections(cardDir: string): Promise<{ capture: boolean; playback: boolean }> {
  let entries: string[];
  try {
    entries = await readdir(cardDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { capture: false, playback: false };
    throw error;
  }
  return {
    capture: entries.some((entry) => /^pcm\d+c$/.test(entry)),
    playback: entries.some((entry) => /^pcm\d+p$/.test(entry)),
  };
}

/** undefined when amixer is not installed or fails: the state is then unknown, not "unmuted". */
async function readCaptureMuted(cardIndex: number, options: AlsaReadOptions): Promise<boolean | undefined> {
  const output = await options.runCommand('amixer', ['-c', String(cardIndex), 'scontents'], options.signal);
  if (output.status !== 'ok') return undefined;
  return isCaptureMuted(output.stdout);
}

interface CaptureSwitch {
  control: string;
  /** A member of a capture-source group (HDA "Mic", "Line"): it selects the input, it does not mute. */
  exclusive: boolean;
  on: boolean[];
}

/**
 * Every capture switch in `amixer -c N scontents`, with the [on]/[off] state of each channel.
 * The state is the one after the word "Capture" on a channel line, because a control with both
 * directions prints "Mono: Playback 14 [45%] [-9.00dB] [off] Capture 16 [46%] [4.00dB] [on]".
 */
export function parseCaptureSwitches(scontents: string): CaptureSwitch[] {
  const switches: CaptureSwitch[] = [];
  for (const block of scontents.split(/^(?=Simple mixer control )/m)) {
    const control = /^Simple mixer control '(.*)',\d+/.exec(block)?.[1];
    const capabilities = /^\s*Capabilities:(.*)$/m.exec(block)?.[1]?.trim().split(/\s+/) ?? [];
    if (control === undefined || !capabilities.includes('cswitch')) continue;
    const on: boolean[] = [];
    for (const line of block.split('\n').slice(1)) {
      const channel = /^\s*([^:]+):(.*)$/.exec(line);
      if (channel === null || isHeaderKey(channel[1]?.trim() ?? '')) continue;
      const afterCapture = /\bCapture\b(.*)$/.exec(channel[2] ?? '')?.[1];
      const state = afterCapture === undefined ? undefined : /\[(on|off)\]/.exec(afterCapture)?.[1];
      if (state !== undefined) on.push(state === 'on');
    }
    if (on.length > 0) switches.push({ control, exclusive: capabilities.includes('cswitch-exclusive'), on });
  }
  return switches;
}

/**
 * Muted when every capture switch of the card is off. Capture-source selectors are left out when
 * the card also has a real capture switch (HDA "Capture"): one of them is always on, so counting
 * them would hide a muted "Capture". A card with no capture switch at all cannot be muted by one.
 */
export function isCaptureMuted(scontents: string): boolean {
  const switches = parseCaptureSwitches(scontents);
  const mutes = switches.filter((captureSwitch) => !captureSwitch.exclusive);
  const considered = mutes.length > 0 ? mutes : switches;
  if (considered.length === 0) return false;
  return considered.every((captureSwitch) => captureSwitch.on.every((on) => !on));
}

function isHeaderKey(key: string): boolean {
  return /^(Capabilities|Playback channels|Capture channels|Limits|Capture exclusive group|Playback exclusive group|Items|Item\d+)$/.test(key);
}

/** Card ids and names come from USB strings: untrusted. */
function cleanText(text: string, maxLength: number): string {
  return untrustedText(text, maxLength) ?? '';
}



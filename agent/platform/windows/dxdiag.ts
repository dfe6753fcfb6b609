/**
 * `dxdiag /t`'s text report, the file Windows users most often attach: its "Video Capture
 * Devices", "Sound Devices" and "Sound Capture Devices" sections read as Plug and Play entities,
 * so they become devices (and Device Manager's problems become faults) the way Get-PnpDevice's do.
 */
import type { PnpEntity } from './pnp-devices.js';

type Entry = Record<string, string>;

const SECTIONS = {
  'video capture devices': 'Camera',
  'sound devices': 'AudioEndpoint',
  'sound capture devices': 'AudioEndpoint',
} as const;

type SectionName = keyof typeof SECTIONS;
const DASHES = /^\s*-{4,}\s*$/;

export function looksLikeDxdiag(text: string): boolean {
  return /^-{4,}\s*\r?\n\s*(System Information|Video Capture Devices|Sound Capture Devices)\s*\r?\n/m.test(text) && /^\s*(Time of this report|FriendlyName|Description)\s*:/m.test(text);
}

/**
 * The report's sections, each a title between two lines of dashes ("Video Capture Devices" carries
 * a "Number of Devices" line before the closing dashes), entries split by blank lines.
 */
function sections(text: string): Map<SectionName, Entry[]> {
  const found = new Map<SectionName, Entry[]>();
  const lines = text.split(/\r?\n/);
  let current: Entry[] | undefined;
  let entry: Entry = {};
  const flush = (): void => {
    if (current && Object.keys(entry).length > 0) current.push(entry);
    entry = {};
  };
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (DASHES.test(line)) {
      const title = (lines[index + 1] ?? '').trim();
      const close = [index + 2, index + 3].find((at) => DASHES.test(lines[at] ?? ''));
      if (title !== '' && !DASHES.test(title) && close !== undefined) {
        flush();
        const name = title.toLowerCase();
        current = name in SECTIONS ? [] : undefined;
        if (current) found.set(name as SectionName, current);
        index = close;
      }
      continue;
    }
    if (!current) continue;
    if (line.trim() === '') {
      flush();
      continue;
    }
    const pair = /^\s*([A-Za-z][\w ./()-]*?)\s*:\s?(.*)$/.exec(line);
    if (!pair?.[1]) continue;
    const key = pair[1].toLowerCase();
    // The key that begins an entry begins the next one even without a blank line between.
    if (key in entry && (key === 'friendlyname' || key === 'description')) flush();
    entry[key] = (pair[2] ?? '').trim();
  }
  flush();
  return found;
}

/** "No Problem", "0", "22", or the CM_PROB_ name some builds print. */
function problemOf(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (/^no problem$/i.test(value)) return 0;
  const number = /^(\d+)\b/.exec(value);
  if (number?.[1]) return Number(number[1]);
  return null;
}

/** The PnP instance id a symbolic link names: \\?\usb#vid_046d&pid_082d&mi_00#7&2a4b...#{guid}\global. */
function instanceIdOfLink(link: string | undefined): string | undefined {
  const match = /^\\\\\?\\([^#]+)#([^#]+)#([^#]+)#/.exec(link ?? '');
  return match ? `${match[1]}\\${match[2]}\\${match[3]}`.toUpperCase() : undefined;
}

export function readDxdiag(text: string): PnpEntity[] {
  const entities: PnpEntity[] = [];
  for (const [section, entries] of sections(text)) {
    entries.forEach((entry, index) => {
      const name = entry.friendlyname ?? entry.description;
      if (!name || name.toLowerCase() === 'n/a') return;
      const hardwareId = entry['hardware id'] ?? entry.hardwareid?.split(',')[0];
      // Sound entries carry no instance id: the section and position keep them apart.
      const instanceId = instanceIdOfLink(entry.symboliclink) ?? (hardwareId && hardwareId.toLowerCase() !== 'n/a' ? `${hardwareId}#${index}` : `DXDIAG\\${section.replace(/ /g, '_').toUpperCase()}\\${index}`);
      const entity: PnpEntity = { name, class: entry.class && section === 'video capture devices' ? entry.class : SECTIONS[section], instanceId, problemCode: problemOf(entry.problemcode) };
      // dxdiag's Manufacturer is the driver package's ("Microsoft" for every UVC camera), not the device's maker: left out.
      const service = entry.service ?? entry['driver name'];
      if (service && service.toLowerCase() !== 'n/a') entity.service = service;
      if (/DN_STARTED/.test(entry.devnodestatus ?? '')) entity.status = 'OK';
      entities.push(entity);
    });
  }
  return entities;
}

/**
 * What Mac users send to support about their devices, read for `probe --replay`:
 * `system_profiler SPUSBDataType SPCameraDataType SPAudioDataType`, as JSON or text, with prose
 * or a prompt around it.
 */
import type { Device, MediaPrivacy } from '../../../protocol/index.js';
import type { PastedConclusion } from '../../pasted/pasted-linux.js';
import { attachMediaToUsb } from '../../probes/media-match.js';
import { refineAudioKindWithMedia, usbDeviceFromInfo } from '../../probes/usb-classify.js';
import { macMedia } from './mac-media.js';
import { looksLikeSystemProfiler, readSystemProfilerJson, readSystemProfilerText, type SystemProfilerReport } from './system-profiler.js';
import { looksLikeTcc, readTcc } from './tcc.js';

export interface PastedMacos {
  devices: Device[];
  conclusions: PastedConclusion[];
  privacy?: MediaPrivacy;
}

export function looksLikePastedMacos(text: string): boolean {
  return looksLikeSystemProfiler(text) || looksLikeTcc(text);
}

const REPORT_NAMES = { usb: 'SPUSBDataType', camera: 'SPCameraDataType', audio: 'SPAudioDataType' } as const;

/** The JSON object in the paste, from the first line that opens one to the last brace that closes a valid one. */
function jsonIn(text: string): unknown {
  const start = text.search(/^\s*\{/m);
  if (start < 0) return undefined;
  const body = text.slice(start);
  for (let end = body.lastIndexOf('}'); end > 0; end = body.lastIndexOf('}', end - 1)) {
    try {
      return JSON.parse(body.slice(0, end + 1)) as unknown;
    } catch {
      // Prose after the JSON: try the previous closing brace.
    }
  }
  return undefined;
}

export function readPastedMacos(text: string): PastedMacos {
  const fromJson = readSystemProfilerJson(jsonIn(text));
  const report: SystemProfilerReport | null = fromJson ?? readSystemProfilerText(text);
  const privacy = readTcc(text);
  const pasted: PastedMacos = report ? devicesOf(report, fromJson !== null) : { devices: [], conclusions: [] };
  if (privacy) {
    pasted.privacy = privacy;
    // Program ids are the same in every language; "none" is a dash.
    const denied = (capability: 'camera' | 'microphone'): string => privacy[capability].deniedApps?.join(', ') || '-';
    pasted.conclusions.push({ tool: 'sqlite3 TCC.db (access)', key: 'macPermissions', params: { camera: denied('camera'), microphone: denied('microphone') } });
  }
  return pasted;
}

function devicesOf(report: SystemProfilerReport, json: boolean): PastedMacos {
  const usbDevices = report.usb.map((info) => usbDeviceFromInfo(info));
  const { devices: ownDevices, media } = macMedia(report);
  const missing = (['usb', 'camera', 'audio'] as const).filter((section) => !report.sections.includes(section));
  // Without both the camera and the audio report, "macOS made nothing of it" would be a guess.
  const judged = missing.length === 0;
  const devices = [...(judged ? attachMediaToUsb(usbDevices, media).map(refineAudioKindWithMedia) : usbDevices), ...ownDevices];
  const params = { usb: usbDevices.length, cameras: report.cameras.length, audio: report.audio.length };
  const tool = `system_profiler (${json ? 'JSON' : 'text'})`;
  const conclusion: PastedConclusion = judged
    ? { tool, key: 'systemProfiler', params }
    : { tool, key: 'systemProfilerPartial', params: { ...params, missing: missing.map((section) => REPORT_NAMES[section]).join(', ') } };
  return { devices, conclusions: [conclusion] };
}

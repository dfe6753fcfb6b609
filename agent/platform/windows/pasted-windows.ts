/**
 * What Windows users send to support about their devices, read for `probe --replay`: `dxdiag /t`'s
 * report, the PnP queries' JSON (Get-PnpDevice, Get-CimInstance Win32_PnPEntity), their tables, and wmic's table
 * or list, with prose or a PowerShell prompt around them.
 */
import type { Device, MediaPrivacy } from '../../../protocol/index.js';
import type { PastedConclusion } from '../../pasted/pasted-linux.js';
import { looksLikeDxdiag, readDxdiag } from './dxdiag.js';
import { pnpDevices, readPnpJson, readPnpList, readPnpTable, type PnpEntity } from './pnp-devices.js';
import { blockingScope, readPrivacySettings } from './privacy-settings.js';

export interface PastedWindows {
  devices: Device[];
  conclusions: PastedConclusion[];
  privacy?: MediaPrivacy;
}

export function looksLikePastedWindows(text: string): boolean {
  return looksLikeDxdiag(text) || /\\ConsentStore\\(webcam|microphone)\b|LetAppsAccess(Camera|Microphone)/i.test(text) || /"(InstanceId|PNPDeviceID)"\s*:/.test(text) || (/"DeviceID"\s*:/.test(text) && /"PNPClass"\s*:/.test(text)) || /^\s*(Status\s+Class\s+FriendlyName\s+InstanceId|.*\bConfigManagerErrorCode\b.*\bDeviceID\b|.*\bDeviceID\b.*\bPNPClass\b)/m.test(text) || /^\s*(InstanceId|DeviceID)\s*(=|:)\s*\S*\\/m.test(text);
}

/** The JSON in the paste: from its first line that opens an array or object to the matching close. */
function jsonIn(text: string): unknown {
  const start = text.search(/^\s*[[{]/m);
  if (start < 0) return undefined;
  const body = text.slice(start).trim();
  const close = body.startsWith('[') ? ']' : '}';
  for (let end = body.lastIndexOf(close); end > 0; end = body.lastIndexOf(close, end - 1)) {
    try {
      return JSON.parse(body.slice(0, end + 1)) as unknown;
    } catch {
      // Prose after the JSON: try the previous closing bracket.
    }
  }
  return undefined;
}

export function readPastedWindows(text: string): PastedWindows {
  const dxdiag = looksLikeDxdiag(text);
  const fromJson = dxdiag ? null : readPnpJson(jsonIn(text));
  const reads: [string, PnpEntity[] | null][] = [
    ['dxdiag /t', dxdiag ? readDxdiag(text) : null],
    ['Get-PnpDevice / Win32_PnPEntity (JSON)', fromJson],
    ['Get-PnpDevice / wmic (table)', fromJson || dxdiag ? null : readPnpTable(text)],
    ['wmic /format:list / Format-List', fromJson || dxdiag ? null : readPnpList(text)],
  ];
  const [tool, entities] = reads.find(([, found]) => found && found.length > 0) ?? ['', null];
  const pasted: PastedWindows = { devices: [], conclusions: [] };
  if (entities) {
    pasted.devices = pnpDevices(entities);
    const problems = pasted.devices.filter((device) => (device.pnp?.problemCode ?? 0) !== 0).length;
    pasted.conclusions.push({ tool, key: 'pnp', params: { count: pasted.devices.length, problems } });
  }
  const privacy = readPrivacySettings(text);
  if (privacy) {
    pasted.privacy = privacy;
    const said = (settings: MediaPrivacy['camera']): string => {
      const blocked = blockingScope(settings);
      if (blocked) return `blocked (${blocked})`;
      const state = [settings.policy, settings.device, settings.apps, settings.desktopApps].some((value) => value === 'allow') ? 'allowed' : 'not shown';
      const users = (settings.inUseBy ?? []).map((use) => `${use.app} since ${use.since.slice(0, 16).replace('T', ' ')} UTC`);
      return users.length > 0 ? `${state}, in use by ${users.join(', ')}` : state;
    };
    pasted.conclusions.push({ tool: 'reg query / Get-ItemProperty (ConsentStore)', key: 'privacy', params: { camera: said(privacy.camera), microphone: said(privacy.microphone) } });
  }
  return pasted;
}

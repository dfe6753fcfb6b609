/**
 * Windows' Plug and Play devices as a PC's own PowerShell query returns them, or as a school pastes
 * them: `Get-PnpDevice | ConvertTo-Json`, `Get-CimInstance Win32_PnPEntity | ConvertTo-Json` (one
 * object or an array), the same commands' default tables, and `wmic path Win32_PnPEntity get ...`
 * (table or /format:list). Only the classes a classroom's AV lives in become devices; every row is
 * read, never thrown on: a row that says too little is skipped.
 */
import type { Device, DeviceKind } from '../../../protocol/index.js';

export interface PnpEntity {
  name: string;
  class: string;
  instanceId: string;
  /** The Device Manager's problem code (ConfigManagerErrorCode); null when the paste does not say. */
  problemCode: number | null;
  status?: string;
  present?: boolean;
  service?: string;
  manufacturer?: string;
}

/** The setup classes of cameras, microphones and speakers. */
const AV_CLASSES = new Set(['camera', 'image', 'audioendpoint', 'media']);

/** Get-PnpDevice's Problem enum names (PowerShell 7 with -EnumsAsStrings, or Format-List) as codes. */
const PROBLEM_NAMES: Record<string, number> = {
  CM_PROB_NONE: 0,
  CM_PROB_NOT_CONFIGURED: 1,
  CM_PROB_FAILED_START: 10,
  CM_PROB_REINSTALL: 18,
  CM_PROB_DISABLED: 22,
  CM_PROB_FAILED_INSTALL: 28,
  CM_PROB_HARDWARE_DISABLED: 29,
  CM_PROB_FAILED_ADD: 31,
  CM_PROB_DISABLED_SERVICE: 32,
  CM_PROB_FAILED_DRIVER_ENTRY: 37,
  CM_PROB_DRIVER_FAILED_LOAD: 39,
  CM_PROB_FAILED_POST_START: 43,
  CM_PROB_PHANTOM: 45,
  CM_PROB_UNSIGNED_DRIVER: 52,
};

function problemOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    if (trimmed in PROBLEM_NAMES) return PROBLEM_NAMES[trimmed] ?? null;
  }
  return null;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

/** One JSON object of either query: Get-PnpDevice's names or Win32_PnPEntity's. */
function entityOfJson(record: Record<string, unknown>): PnpEntity | null {
  const instanceId = text(record.InstanceId) ?? text(record.DeviceID) ?? text(record.PNPDeviceID);
  const deviceClass = text(record.Class) ?? text(record.PNPClass);
  if (!instanceId || !deviceClass) return null;
  const entity: PnpEntity = {
    name: text(record.FriendlyName) ?? text(record.Name) ?? text(record.Caption) ?? instanceId,
    class: deviceClass,
    instanceId,
    problemCode: problemOf(record.ConfigManagerErrorCode) ?? problemOf(record.Problem),
  };
  const status = text(record.Status);
  if (status) entity.status = status;
  if (typeof record.Present === 'boolean') entity.present = record.Present;
  const service = text(record.Service);
  if (service) entity.service = service;
  const manufacturer = text(record.Manufacturer);
  if (manufacturer) entity.manufacturer = manufacturer;
  return entity;
}

/** ConvertTo-Json's output: one object, an array, or PowerShell's `{"value": [...], "Count": n}` wrapper. */
export function readPnpJson(json: unknown): PnpEntity[] | null {
  const records = Array.isArray(json) ? json : typeof json === 'object' && json !== null && Array.isArray((json as { value?: unknown }).value) ? (json as { value: unknown[] }).value : [json];
  const entities = records.flatMap((record) => (typeof record === 'object' && record !== null ? (entityOfJson(record as Record<string, unknown>) ?? []) : []));
  return entities.length > 0 ? entities : null;
}

/**
 * A table as PowerShell or wmic prints it: a header line of column names; PowerShell underlines
 * it with dashes. Columns are cut where the header's names start, so names with spaces survive.
 */
export function readPnpTable(pasted: string): PnpEntity[] {
  const lines = pasted.split(/\r?\n/);
  const headerAt = lines.findIndex((line) => /\b(InstanceId|DeviceID|PNPDeviceID)\b/.test(line) && /\b(Class|PNPClass)\b/.test(line));
  if (headerAt < 0) return [];
  const header = lines[headerAt] ?? '';
  const columns = [...header.matchAll(/\S+/g)].map((match) => ({ name: match[0], start: match.index }));
  const rows = lines.slice(headerAt + 1).filter((line) => line.trim() !== '' && !/^[\s-]+$/.test(line));
  const entities: PnpEntity[] = [];
  for (const row of rows) {
    const record: Record<string, unknown> = {};
    columns.forEach((column, index) => {
      const end = columns[index + 1]?.start ?? row.length;
      record[column.name] = row.slice(column.start, index + 1 < columns.length ? end : undefined).trim();
    });
    const entity = entityOfJson(record);
    if (entity) entities.push(entity);
    else if (/^\S+:\\|^PS /.test(row)) break; // the next prompt ends the table
  }
  return entities;
}

/** `wmic ... /format:list` and Format-List: "Key=Value" or "Key : Value" lines, a blank line between devices. */
export function readPnpList(pasted: string): PnpEntity[] {
  const entities: PnpEntity[] = [];
  let record: Record<string, unknown> = {};
  const flush = (): void => {
    const entity = entityOfJson(record);
    if (entity) entities.push(entity);
    record = {};
  };
  for (const line of pasted.split(/\r?\n/)) {
    const pair = /^\s*([A-Za-z][A-Za-z]+)\s*(?:=|:)\s?(.*)$/.exec(line);
    if (!pair) {
      if (line.trim() === '') flush();
      continue;
    }
    const key = pair[1] ?? '';
    // A key seen again starts the next device, even without the blank line between.
    if (key in record) flush();
    record[key] = pair[2] ?? '';
  }
  flush();
  return entities;
}

/** The AV devices among the entities, as inventory devices (ids from the instance id, USB ids when it has them). */
export function pnpDevices(entities: readonly PnpEntity[]): Device[] {
  const devices: Device[] = [];
  for (const entity of entities) {
    if (!AV_CLASSES.has(entity.class.toLowerCase())) continue;
    // A device Windows remembers but that is not plugged in (code 45, Present false) is history, not a device.
    if (entity.present === false || entity.problemCode === 45) continue;
    const device: Device = {
      id: `pnp:${entity.instanceId}`.slice(0, 320),
      kind: kindOf(entity),
      name: entity.name.slice(0, 256),
      connection: { type: 'os', path: entity.instanceId.slice(0, 512) },
      // Without a problem code, Windows' own Status says it ("Error" is a device that is not working).
      status: entity.problemCode !== null && entity.problemCode !== 0 ? 'faulty' : entity.status === 'Error' ? 'faulty' : 'ok',
      pnp: {
        class: entity.class.slice(0, 64),
        instanceId: entity.instanceId.slice(0, 512),
        problemCode: entity.problemCode,
        ...(entity.status ? { status: entity.status.slice(0, 32) } : {}),
        ...(entity.present !== undefined ? { present: entity.present } : {}),
        ...(entity.service ? { service: entity.service.slice(0, 64) } : {}),
      },
    };
    // "(Standard system devices)" and the like name no maker.
    if (entity.manufacturer && !/^\(.*\)$/.test(entity.manufacturer)) device.make = entity.manufacturer.slice(0, 256);
    devices.push(device);
  }
  return devices;
}

function kindOf(entity: PnpEntity): DeviceKind {
  const name = entity.name.toLowerCase();
  const deviceClass = entity.class.toLowerCase();
  if (deviceClass === 'camera' || deviceClass === 'image') return /capture|hdmi|采集/.test(name) ? 'capture-card' : 'camera';
  if (/speakerphone|speak ?\d|jabra speak|全向麦|会议/.test(name)) return 'speakerphone';
  if (/headset|耳机|耳麦/.test(name)) return 'headset';
  if (/microphone|mic\b|麦克风|阵列/.test(name)) return 'microphone';
  if (/speaker|扬声器|音箱|headphone/.test(name)) return 'speaker';
  return 'other';
}

/**
 * A remote command's result as an engineer reads it at a terminal: devices as a table with each
 * probe source's state (so "no USB bus" never reads as "nothing plugged in"), a PC's state and a
 * test's figures in words and units, log lines as lines. `--json` keeps the raw answer for scripts.
 * Everything in a result came from a classroom PC: every string is cleaned before it is shown.
 */
import { untrustedText } from '../../protocol/index.js';
import { testResultSchema, type AvsyncResult, type NetworkResult } from '../../protocol/measure-result.js';
import type { SessionAction } from '../../protocol/remote-session.js';
import { inventorySnapshotSchema, type InventorySnapshot } from '../../protocol/session-results.js';
import { systemSnapshotSchema, type SystemSnapshot } from '../../protocol/system.js';
import { table } from './account-commands.js';
import { renderHeadsetResult } from './headset-results.js';

const safe = (value: unknown, max = 200): string => (typeof value === 'string' ? (untrustedText(value, max) ?? '') : value === null || value === undefined ? '-' : (untrustedText(JSON.stringify(value), max) ?? ''));

/** The result's lines, unindented; falls back to the JSON, line by line, for a shape it does not know. */
export function renderResult(action: SessionAction, result: unknown): string[] {
  const record = typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
  switch (action) {
    case 'reprobe':
    case 'inventory': {
      const parsed = inventorySnapshotSchema.safeParse(result);
      if (parsed.success) return renderInventory(parsed.data);
      if (record['devices'] === null) return [`no inventory yet: ${safe(record['reason'], 300)}`];
      break;
    }
    case 'health-snapshot': {
      const parsed = systemSnapshotSchema.safeParse(record['system']);
      if (parsed.success) return renderSystem(parsed.data);
      if (record['system'] === null) return ['the PC gave no system state'];
      break;
    }
    case 'fetch-logs':
      if (Array.isArray(record['lines'])) return record['lines'].length === 0 ? ['(no log lines)'] : record['lines'].map((line) => safe(line, 2000));
      break;
    case 'network-test':
    case 'avsync-test':
      return renderTest(record);
    case 'diagnostic-bundle':
      return renderBundle(record);
    case 'camera-snapshot':
    case 'audio-clip':
      if (typeof record['bytes'] === 'number') {
        const what = action === 'camera-snapshot' ? `a JPEG ${safe(record['width'])} pixels wide from ${safe(record['camera'])}` : `${safe(record['seconds'])} s of Opus audio from ${safe(record['microphone'])}`;
        return [`${what}, ${record['bytes']} bytes (in the answer as base64: --json, or --save FILE writes it)`];
      }
      break;
    case 'vr-status':
    case 'vr-app-restart':
    case 'vr-crash-log': {
      const lines = renderHeadsetResult(action, record);
      if (lines) return lines;
      break;
    }
    default:
      break;
  }
  return jsonLines(result);
}

function renderInventory(inventory: InventorySnapshot): string[] {
  const lines = [`probed ${inventory.at} (PC clock)`];
  if (inventory.devices.length === 0) lines.push('no devices found');
  else {
    const rows = inventory.devices.map((device) => [device.kind, safe(device.name, 60), device.status, connection(device.connection), device.error ? `${safe(device.error.code, 40)}: ${safe(device.error.message, 120)}` : '']);
    lines.push(...table(['KIND', 'NAME', 'STATUS', 'CONNECTION', 'ERROR'], rows).trimEnd().split('\n'));
  }
  lines.push('sources:');
  for (const source of inventory.sources) lines.push(`  ${source.source.padEnd(8)} ${source.state}${source.reason ? `: ${safe(source.reason, 300)}` : ''}${source.errorCode ? ` (${safe(source.errorCode, 40)})` : ''}`);
  if (inventory.sources.length === 0) lines.push('  (none reported)');
  return lines;
}

function connection(value: InventorySnapshot['devices'][number]['connection']): string {
  if (!value) return '-';
  switch (value.type) {
    case 'usb':
      return `usb ${value.portPath}`;
    case 'serial':
      return `serial ${safe(value.path, 80)}`;
    case 'network':
      return `${value.protocol} ${safe(value.host, 80)}:${value.port}`;
    case 'os':
      return safe(value.path, 80);
  }
}

function renderSystem(system: SystemSnapshot): string[] {
  const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return [
    `PC ${safe(system.os.hostname, 64)}: ${safe(system.os.distro, 64)} ${safe(system.os.release, 32)} ${system.os.arch}`,
    `CPU ${system.cpu.cores} cores at ${Math.round(system.cpu.loadPercent)}% load`,
    `memory ${gib(system.memory.availableBytes)} free of ${gib(system.memory.totalBytes)}`,
    ...system.disks.map((disk) => `disk ${safe(disk.mount, 80)} ${Math.round(disk.usePercent)}% used of ${gib(disk.sizeBytes)}`),
  ];
}

function renderTest(record: Record<string, unknown>): string[] {
  if (record['status'] === 'failed' || record['status'] === 'killed') return [`the test ${record['status']}: ${safe(record['code'], 40)} ${safe(record['message'], 500)}`.replace(/\s+$/, '')];
  const parsed = testResultSchema.safeParse(record['result']);
  if (!parsed.success) return jsonLines(record);
  const took = typeof record['wallMs'] === 'number' ? ` (took ${(record['wallMs'] / 1000).toFixed(1)} s)` : '';
  return parsed.data.test === 'network' ? [...renderNetwork(parsed.data), `done${took}`] : [...renderAvsync(parsed.data), `done${took}`];
}

function renderNetwork(result: NetworkResult): string[] {
  const ms = (value: number | null): string => (value === null ? '-' : `${Math.round(value)} ms`);
  const direction = (name: string, value: NetworkResult['down'] | null): string =>
    value === null
      ? `${name}  not measured`
      : `${name}  loss ${value.lossPercent.toFixed(1)}%, jitter ${ms(value.jitterMs)}, ${Math.round(value.bitrateKbps)} kbit/s, ${value.framesPerSecond.toFixed(0)} frames/s${value.freezes > 0 ? `, ${value.freezes} freezes (${ms(value.freezeMs)})` : ''}`;
  const lines = [
    `verdict ${result.verdict}: call quality MOS ${result.quality.mos.toFixed(2)} (${result.quality.band}), round trip ${ms(result.rttMs)}`,
    direction('down', result.down),
    direction('up  ', result.up),
  ];
  if (result.throttle) lines.push(result.throttle.throttled ? `the network holds media back: about ${Math.round(result.throttle.capKbps ?? result.throttle.mediaKbps)} kbit/s, while bulk TCP gets ${Math.round(result.throttle.bulkKbps ?? 0)}` : 'no throttling of media found');
  if (result.missed.length > 0) lines.push(`not measured: ${result.missed.map((item) => safe(item, 32)).join(', ')}`);
  return lines;
}

function renderAvsync(result: AvsyncResult): string[] {
  const lines = [`${result.mode} A/V sync: ${result.summary.verdict}, sound ${result.summary.offsetMs >= 0 ? 'ahead of' : 'behind'} picture by ${Math.abs(Math.round(result.summary.offsetMs))} ms over ${result.summary.markers} markers (spread ${Math.round(result.summary.spreadMs)} ms)`];
  if (result.pipeline) lines.push(`the pipeline alone: ${Math.round(result.pipeline.offsetMs)} ms (${result.pipeline.verdict})`);
  for (const reason of result.roomUnavailable) lines.push(`room not measured: ${safe(reason, 200)}`);
  return lines;
}

function renderBundle(record: Record<string, unknown>): string[] {
  const count = (key: string): number => (Array.isArray(record[key]) ? record[key].length : 0);
  const lines = [`diagnostic bundle: ${count('inventory')} devices, ${count('faults')} open faults, ${count('logExcerpt')} log lines${record['truncated'] ? ' (shortened to fit one answer)' : ''}`];
  if (Array.isArray(record['sources'])) {
    for (const source of record['sources'] as Array<Record<string, unknown>>) lines.push(`  ${safe(source['source'], 16).padEnd(8)} ${safe(source['state'], 16)}${source['reason'] ? `: ${safe(source['reason'], 300)}` : ''}`);
  }
  lines.push('the whole bundle: --json');
  return lines;
}

/** Any other answer: its JSON, indented, each line cleaned (strings from the PC never reach the terminal raw). */
function jsonLines(value: unknown): string[] {
  return (JSON.stringify(value, null, 2) ?? 'null').split('\n').map((line) => line.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '').slice(0, 2000));
}

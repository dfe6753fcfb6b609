/**
 * The media source on macOS: the cameras and audio devices from `system_profiler -json` with the
 * USB tree they hang on, read by the same code that reads what a Mac user pastes.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AvcareError, type MediaPrivacy } from '../../../protocol/index.js';
import type { Probe, ProbeFindings } from '../../probes/probe.js';
import { commandRunner, type RunCommand } from '../../probes/run-command.js';
import { macMedia } from './mac-media.js';
import { readSystemProfilerJson } from './system-profiler.js';
import { readTcc, TCC_QUERY } from './tcc.js';

const SYSTEM_PROFILER = '/usr/sbin/system_profiler';
/** macOS 26 reports USB as SPUSBHostDataType; the Macs before it know only SPUSBDataType. */
const REPORTS = ['SPUSBDataType', 'SPUSBHostDataType', 'SPCameraDataType', 'SPAudioDataType'];
const REPORTS_BEFORE_26 = REPORTS.filter((report) => report !== 'SPUSBHostDataType');

export interface MacMediaProbeOptions {
  runCommand?: RunCommand;
  /** The TCC databases to read (each person's); tests give their own. */
  listDatabases?: () => Promise<string[]>;
}

/** Each person's TCC.db: camera and microphone permissions are per user. */
async function userTccDatabases(): Promise<string[]> {
  const users = await readdir('/Users').catch(() => [] as string[]);
  return users.filter((name) => !name.startsWith('.') && name !== 'Shared').map((name) => join('/Users', name, 'Library', 'Application Support', 'com.apple.TCC', 'TCC.db'));
}

/**
 * The permissions, where macOS lets the agent read them: TCC.db opens only for a program with Full
 * Disk Access (a school's MDM grants it with a privacy profile). Without it every read is refused
 * and the permissions stay unknown, never "allowed".
 */
async function readPermissions(run: RunCommand, listDatabases: () => Promise<string[]>, signal: AbortSignal): Promise<MediaPrivacy | null> {
  const databases = await listDatabases();
  const answers = await Promise.all(databases.map((database) => run('/usr/bin/sqlite3', ['-readonly', database, TCC_QUERY], signal)));
  return readTcc(answers.map((answer) => (answer.status === 'ok' ? answer.stdout : '')).join('\n'));
}

export function createMacMediaProbe(options: MacMediaProbeOptions = {}): Probe {
  // system_profiler takes a second or two on a Mac that has just woken.
  const run = options.runCommand ?? commandRunner(10_000);
  return {
    id: 'media',
    async run(_context, signal): Promise<ProbeFindings> {
      let output = await run(SYSTEM_PROFILER, ['-json', ...REPORTS], signal);
      // An older system_profiler may refuse a report it does not know: ask again for the ones it has.
      if (output.status === 'failed' && !signal.aborted) output = await run(SYSTEM_PROFILER, ['-json', ...REPORTS_BEFORE_26], signal);
      if (output.status === 'not-installed') {
        return { state: 'unavailable', reason: `${SYSTEM_PROFILER} is not on this Mac, so its cameras and audio devices cannot be listed`, reasonKey: 'sourceReason.noSystemProfiler', devices: [] };
      }
      if (output.status === 'failed') throw new AvcareError('PROBE_FAILED', `system_profiler failed: ${output.reason}`);
      let json: unknown;
      try {
        json = JSON.parse(output.stdout);
      } catch (error) {
        throw new AvcareError('PROBE_FAILED', `system_profiler printed something that is not JSON: ${(error as Error).message}`, { output: output.stdout.slice(0, 200) });
      }
      const report = readSystemProfilerJson(json);
      if (!report) throw new AvcareError('PROBE_FAILED', 'system_profiler answered without its USB, camera or audio report', { output: output.stdout.slice(0, 200) });
      const { devices, media } = macMedia(report);
      const findings: ProbeFindings = { state: 'ok', devices, media };
      const privacy = await readPermissions(run, options.listDatabases ?? userTccDatabases, signal);
      if (privacy) findings.privacy = privacy;
      return findings;
    },
  };
}

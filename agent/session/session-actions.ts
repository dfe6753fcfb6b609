/**
 * What each allowlisted action does on this PC. Each one uses what the agent already has (its
 * probe cycle, its tests, its recent log with secrets removed); none runs a shell or reads a file
 * outside the agent's own state. Actions this version cannot do yet say so with ACTION_UNAVAILABLE.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AvcareError } from '../../protocol/errors.js';
import type { Device, SystemSnapshot } from '../../protocol/index.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';
import type { SessionAction } from '../../protocol/remote-session.js';
import { parseAgentConfig } from '../config.js';
import type { TestOutcome } from '../measure/test-runner.js';
import { scrubSecrets } from '../scrub-secrets.js';
import type { ActionRunner } from './session-service.js';

export interface ActionHooks {
  reprobe(): Promise<Device[]>;
  inventory(): Device[] | undefined;
  health(): Promise<SystemSnapshot | undefined>;
  recentLog(lines: number): string[];
  runTest(test: MeasureTest): Promise<TestOutcome>;
  /** Ends the process after the answer has gone out; the service manager starts it again. */
  restart(): void;
  /** The config file the agent was started with; set-config writes there. */
  configFile: string | undefined;
  /** Values that must never leave the PC (broker password, PJLink passwords). */
  secrets: readonly string[];
}

export function sessionActions(hooks: ActionHooks): ActionRunner {
  return async (action: SessionAction, args: Record<string, unknown>): Promise<unknown> => {
    switch (action) {
      case 'reprobe':
        return { devices: await hooks.reprobe() };
      case 'inventory':
        return { devices: hooks.inventory() ?? null };
      case 'health-snapshot':
        return { system: (await hooks.health()) ?? null };
      case 'fetch-logs':
        return { lines: hooks.recentLog(Number(args['lines'] ?? 200)).map((line) => scrubSecrets(line, hooks.secrets)) };
      case 'network-test':
        return hooks.runTest('network');
      case 'avsync-test':
        return hooks.runTest('avsync');
      case 'restart-agent':
        // Answered first; the restart follows a moment later.
        setTimeout(() => hooks.restart(), 1000).unref();
        return { restarting: true };
      case 'set-config':
        return setConfigKey(hooks.configFile, String(args['key']), args['value'] as string | number | boolean);
      case 'usb-reset':
      case 'visca-power-cycle':
      case 'diagnostic-bundle':
      case 'camera-snapshot':
      case 'audio-clip':
        throw new AvcareError('ACTION_UNAVAILABLE', `${action} is not available in this agent version`);
    }
  };
}

/**
 * Sets one key of the agent's config file, checked against the agent's own schema first, so a bad
 * value is refused with the reason and the file stays as it was. It takes effect at the next start.
 */
export function setConfigKey(file: string | undefined, key: string, value: string | number | boolean): { key: string; value: unknown; file: string; appliesAt: 'next-start' } {
  if (file === undefined) throw new AvcareError('CONFIG_UNREADABLE', 'this agent runs without a config file: there is nothing to set');
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new AvcareError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`);
  }
  const next = structuredClone(current);
  const path = key.split('.');
  let at: Record<string, unknown> = next;
  for (const part of path.slice(0, -1)) {
    const inner = at[part];
    at = (at[part] = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? inner : {}) as Record<string, unknown>;
  }
  at[path.at(-1) ?? key] = value;
  parseAgentConfig(next, `${file} with ${key} set`);
  try {
    writeFileSync(`${file}.tmp`, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o640 });
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    throw new AvcareError('CONFIG_UNREADABLE', `cannot write ${file}: ${(error as Error).message}`);
  }
  return { key, value, file, appliesAt: 'next-start' };
}

/**
 * The configuration each command works with: the file (or defaults), the enrolled identity, and
 * the state directory of the agent the command is about.
 */
import { join } from 'node:path';
import type { Logger } from '../protocol/log.js';
import { loadAgentConfig, type AgentConfig } from './config.js';
import { LearnedDevices } from './faults/learned-devices.js';
import { applyIdentity } from './identity/apply-identity.js';
import { readIdentity } from './identity/identity-file.js';
import { RecentLog, recentLogFile } from './recent-log.js';
import { configuredSecrets } from './scrub-secrets.js';
import { locateStateDir, resolveStateDir, type LocatedState } from './state-dir.js';

/** The configuration file with the enrolled identity applied (who this agent is, how it reaches the cloud). */
export function enrolledConfig(path: string | undefined): AgentConfig {
  const config = loadAgentConfig(path);
  return applyIdentity(config, readIdentity(resolveStateDir(config)));
}

/**
 * For the commands a person runs at the PC: the configuration with the state directory of the
 * agent they are about (the installed one, or the one `npm start` enrolled), so they find what the
 * stack just printed; `located` says where it was looked for.
 */
export function pcSideConfig(path: string | undefined): { config: AgentConfig; located: LocatedState } {
  const base = loadAgentConfig(path);
  const located = locateStateDir(base);
  return { config: { ...base, stateDir: located.dir }, located };
}

/** pcSideConfig with the enrolled identity applied. */
export function pcSideEnrolledConfig(path: string | undefined): { config: AgentConfig; located: LocatedState } {
  const { config, located } = pcSideConfig(path);
  return { config: applyIdentity(config, readIdentity(located.dir)), located };
}

export function learnedDevicesFor(config: AgentConfig): LearnedDevices {
  return new LearnedDevices(join(resolveStateDir(config), 'learned-devices.json'));
}

/**
 * The recent log of this process for teachers' reports, appended to the state directory's file
 * that every agent process shares; `log` is the logger it feeds, told once if the file cannot be written.
 */
export function recentLogFor(config: AgentConfig, log: () => Logger): RecentLog {
  return new RecentLog({
    file: recentLogFile(resolveStateDir(config)),
    knownSecrets: configuredSecrets(config),
    onPersistError: (error) => log().warn({ err: error }, 'cannot keep the recent log in the state directory; reports will carry fewer log lines'),
  });
}

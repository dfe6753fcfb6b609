import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig } from './config.js';

/**
 * Where the agent keeps what it learns. systemd's StateDirectory= sets STATE_DIRECTORY for the
 * service; root without systemd uses /var/lib/avcare; anyone else their XDG state folder.
 */
export function resolveStateDir(config: Pick<AgentConfig, 'stateDir'>, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): string {
  if (config.stateDir) return config.stateDir;
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  if (fromSystemd) return fromSystemd;
  if (uid === 0) return '/var/lib/avcare';
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'avcare');
}

import { join } from 'node:path';
import { createMediaProbe } from '../../probes/media-probe.js';
import { LINUX_PATHS } from '../platform-paths.js';
import type { AgentPlatform } from '../platform-types.js';

/** Debian, Ubuntu, UOS, Kylin: systemd's StateDirectory and /etc, the XDG state folder for a user. */
export const linuxPlatform: AgentPlatform = {
  id: 'linux',
  ...LINUX_PATHS,
  userStateDir: (env, home) => join(env.XDG_STATE_HOME ?? join(home, '.local', 'state'), 'avcare'),
  controlEndpoint: (stateDir) => join(stateDir, 'agent.sock'),
  // install.sh writes the systemd unit, with its sandboxing; it is checked by test/install-dry-run.test.ts.
  serviceDefinition: () => null,
  // install.sh writes /etc/xdg/autostart/avcare-consent-watch.desktop.
  noticeAutostart: () => null,
  createMediaProbe: () => createMediaProbe(),
};

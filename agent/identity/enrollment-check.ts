import { statSync } from 'node:fs';
import { isAvcareError } from '../../protocol/index.js';
import { identityFile, readIdentity } from './identity-file.js';

export interface EnrollmentCheck {
  id: 'enrollment';
  title: 'Enrollment';
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const ENROLL_FIX = 'sudo bash install.sh --cloud URL --token TOKEN (or: avcare-agent enroll --cloud URL --token TOKEN, as the agent\'s user)';

/** `avcare-agent doctor`: is this PC enrolled, and are its credentials kept as they should be. */
export function checkEnrollment(stateDir: string): EnrollmentCheck {
  const base = { id: 'enrollment', title: 'Enrollment' } as const;
  const file = identityFile(stateDir);
  let identity;
  try {
    identity = readIdentity(stateDir);
  } catch (error) {
    if (isAvcareError(error) && error.code === 'CONFIG_UNREADABLE' && /readable only by the agent's own user/.test(error.message)) {
      return { ...base, status: 'warn', detail: `${file} is readable by the agent's user only (as it should be), so it was not checked`, fix: 'run doctor as that user: sudo -u avcare avcare-agent doctor' };
    }
    return { ...base, status: 'fail', detail: error instanceof Error ? error.message : String(error), fix: ENROLL_FIX };
  }
  if (!identity) return { ...base, status: 'warn', detail: 'this PC is not enrolled: the agent probes and prints, but reports to no cloud', fix: ENROLL_FIX };
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    return { ...base, status: 'fail', detail: `${file} holds the agent's secret but is readable by others (mode ${mode.toString(8)})`, fix: `chmod 600 ${file}` };
  }
  return { ...base, status: 'ok', detail: `enrolled as ${identity.schoolId}:${identity.agentId} (room ${identity.roomId}) with ${identity.cloudUrl}; broker ${identity.mqtt.url}; cloud key ${identity.signingKey.keyId}` };
}

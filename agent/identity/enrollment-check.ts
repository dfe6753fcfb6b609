import { statSync } from 'node:fs';
import { isAvcareError } from '../../protocol/index.js';
import { english, type Translator } from '../i18n/i18n.js';
import type { LocatedState } from '../state-dir.js';
import { identityFile, readIdentity } from './identity-file.js';

export interface EnrollmentCheck {
  id: 'enrollment';
  title: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/**
 * `avcare-agent doctor`: is this PC enrolled, and are its credentials kept as they should be. The
 * agent `npm start` enrolled counts (and is named so), so doctor agrees with what the stack printed.
 */
export function checkEnrollment(located: LocatedState, tr: Translator = english): EnrollmentCheck {
  const stateDir = located.dir;
  const base = { id: 'enrollment', title: tr.t('doctor.title.enrollment') } as const;
  const fix = tr.t('doctor.enrollFix');
  const file = identityFile(stateDir);
  let identity;
  try {
    identity = readIdentity(stateDir);
  } catch (error) {
    if (isAvcareError(error) && error.code === 'CONFIG_UNREADABLE' && /readable only by the agent's own user/.test(error.message)) {
      return { ...base, status: 'warn', detail: tr.t('doctor.enrollHidden', { file }), fix: tr.t('doctor.enrollHiddenFix') };
    }
    return { ...base, status: 'fail', detail: error instanceof Error ? error.message : String(error), fix };
  }
  if (!identity) return { ...base, status: 'warn', detail: tr.t('doctor.notEnrolled', { dirs: located.searched.join(', ') }), fix };
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    return { ...base, status: 'fail', detail: tr.t('doctor.identityOpen', { file, mode: mode.toString(8) }), fix: `chmod 600 ${file}` };
  }
  const { schoolId, agentId, roomId, cloudUrl } = identity;
  const stack = located.localStack;
  const where = stack ? tr.t('doctor.enrolledLocalStack', { dir: stateDir, state: stack.running ? tr.t('doctor.localStackRunning') : tr.t('doctor.localStackStopped') }) : '';
  return { ...base, status: 'ok', detail: `${where}${tr.t('doctor.enrolled', { school: schoolId, agent: agentId, room: roomId, cloud: cloudUrl, broker: identity.mqtt.url, key: identity.signingKey.keyId })}` };
}

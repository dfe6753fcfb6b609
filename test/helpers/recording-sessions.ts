/** A session service for control-channel tests: it records who answered what, and holds no sessions. */
import type { SessionService } from '../../agent/session/session-service.js';

export function recordingSessions(): { sessions: SessionService; answered: string[] } {
  const answered: string[] = [];
  const sessions = {
    approve: (_id: string, person: string) => Promise.resolve(void answered.push(`approve ${person}`)),
    deny: (_id: string, person: string) => Promise.resolve(void answered.push(`deny ${person}`)),
    revoke: (_id: string, person: string) => Promise.resolve(void answered.push(`revoke ${person}`)),
    consents: { list: () => [] },
    journal: { read: () => [] },
  } as unknown as SessionService;
  return { sessions, answered };
}

/**
 * Who is signed in, as the console knows it: restored from the session cookie at load (GET
 * /api/me), set at sign-in, cleared at sign-out or when the API says the session ended. What the
 * role may do comes from protocol/permissions.ts, the table the cloud itself refuses by.
 */
import { computed, reactive } from 'vue';
import { roleMay, type Permission } from '../../../protocol/permissions.js';
import { api, post, useCsrfToken, whenSignedOut } from './api.js';
import { closeLiveEvents } from './live.js';
import type { Account, ConsoleSession, Me } from './api-types.js';

const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export const session = reactive({
  account: undefined as Account | undefined,
  schools: null as string[] | null,
  timeZone: DEFAULT_TIME_ZONE,
  /** Set when the API ended the session by itself (idle timeout): the sign-in page says so. */
  expired: false,
});

export const signedIn = computed(() => session.account !== undefined && !session.account.mustChangePassword);

export function can(permission: Permission): boolean {
  return session.account !== undefined && roleMay(session.account.role, permission);
}

function forget(): void {
  closeLiveEvents();
  session.account = undefined;
  session.schools = null;
  useCsrfToken(undefined);
}

whenSignedOut(() => {
  if (session.account !== undefined) session.expired = true;
  forget();
});

/** The session the cookie still holds, if any. */
export async function restore(): Promise<void> {
  const me = await api<Me | { signedIn: false }>('/api/auth/session');
  if (!('account' in me)) {
    forget();
    return;
  }
  useCsrfToken(me.csrfToken);
  session.account = me.account;
  session.schools = me.schools;
  session.timeZone = me.timeZone || DEFAULT_TIME_ZONE;
}

export async function signIn(name: string, password: string): Promise<Account> {
  const started = await post<ConsoleSession>('/api/auth/session', { name, password });
  useCsrfToken(started.csrfToken);
  session.expired = false;
  session.account = started.account;
  await restore();
  return started.account;
}

export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await post('/api/auth/password', { currentPassword, newPassword });
  await restore();
}

export async function signOut(): Promise<void> {
  try {
    await post('/api/auth/logout');
  } finally {
    forget();
  }
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console signs in with the same bearer tokens as the CLI, kept where page script cannot read
 * them: an HttpOnly cookie, SameSite=Strict, Secure whenever the page came over TLS. A cookie is
 * sent by the browser on its own, so every state change it authenticates must also carry the CSRF
 * token in a header, which another site's page can neither read nor forge.
 */
export const SESSION_COOKIE = 'avcare_session';
export const CSRF_HEADER = 'x-csrf-token';

/** Minutes without a request after which a console session ends (the CLI's tokens have no idle limit). */
export const DEFAULT_CONSOLE_IDLE_MINUTES = 30;

/**
 * The CSRF token of a session: a one-way function of the session token, so it is the same in every
 * cloud process sharing the database, needs no storage, and knowing it reveals nothing of the
 * session token. Another site cannot compute it: it never sees the cookie.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update('avcare-csrf\0').update(sessionToken).digest('base64url');
}

export function csrfTokenMatches(sessionToken: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Methods that change nothing: the only ones a cookie alone may authenticate. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

export function sessionCookieOf(request: FastifyRequest): string | undefined {
  const value = request.cookies[SESSION_COOKIE];
  return value === undefined || value === '' ? undefined : value;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, expiresAt: string): void {
  void reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    path: '/',
    expires: new Date(expiresAt),
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: '/' });
}

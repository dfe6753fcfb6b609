import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loginRequestSchema, passwordSchema, type LoginResponse } from '../../protocol/index.js';
import type { ConsoleSignIn, MeView } from '../../protocol/views/people-view.js';
import type { Principal } from '../accounts/access-policy.js';
import type { TokenInfo } from '../accounts/api-tokens.js';
import type { Security } from '../security.js';
import { ApiError } from './api-error.js';
import { clearSessionCookie, csrfTokenFor, sessionCookieOf, setSessionCookie } from './browser-session.js';
import { parseRequestPart } from './parse-request.js';
import { principalOf } from './request-auth.js';

/** The console asks for neither a lifetime nor a label: its sessions are the cloud's to bound. */
const consoleLoginSchema = z.strictObject({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
});

const passwordChangeSchema = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: passwordSchema,
});

/** Signing in and out, who am I, and choosing one's own password. */
export function authRoutes(app: FastifyInstance, security: Security, { consoleIdleMinutes }: { consoleIdleMinutes: number }): void {
  app.post('/api/auth/login', { config: { access: 'credentials' } }, async (request): Promise<LoginResponse> => {
    const body = parseRequestPart(loginRequestSchema, request.body ?? {}, 'body field');
    return security.signIn.login(body, request.ip);
  });

  // The console's sign-in: the token goes into an HttpOnly cookie the page's script never sees; the page gets the CSRF token.
  app.post('/api/auth/session', { config: { access: 'credentials' } }, async (request, reply) => {
    const body = parseRequestPart(consoleLoginSchema, request.body ?? {}, 'body field');
    const signedIn = await security.signIn.login(body, request.ip, { idleMinutes: consoleIdleMinutes });
    setSessionCookie(request, reply, signedIn.token, signedIn.expiresAt);
    const answer: ConsoleSignIn = { account: signedIn.account, expiresAt: signedIn.expiresAt, idleMinutes: consoleIdleMinutes, csrfToken: csrfTokenFor(signedIn.token) };
    return answer;
  });

  // The console asks at load whether its cookie still signs someone in: an answer either way, never a 401 in the browser's console.
  app.get('/api/auth/session', { config: { access: 'public' } }, async (request) => {
    const token = sessionCookieOf(request);
    const principal = token === undefined ? undefined : await security.tokens.authenticate(token);
    if (token === undefined || principal === undefined) return { signedIn: false };
    return { signedIn: true, ...(await describeMe(principal)), csrfToken: csrfTokenFor(token) };
  });

  app.post('/api/auth/logout', { config: { access: 'password-change' } }, async (request, reply) => {
    await security.signIn.logout(principalOf(request), request.ip);
    if (request.cookieSession !== undefined) clearSessionCookie(request, reply);
    return { signedOut: true };
  });

  /** Who is signed in, as /api/me and the console's session check tell it. */
  async function describeMe(principal: Principal): Promise<MeView & { tokens: TokenInfo[]; currentTokenId: string }> {
    const scope = principal.role === 'engineer' && principal.teamId !== null ? [...(security.directory.schoolsOfTeam(principal.teamId) ?? [])] : principal.schoolId === null ? null : [principal.schoolId];
    return {
      account: { id: principal.accountId, name: principal.name, role: principal.role, schoolId: principal.schoolId, teamId: principal.teamId, mustChangePassword: principal.mustChangePassword },
      // null: every school (operators).
      schools: principal.role === 'operator' ? null : scope,
      tokens: await security.tokens.list(principal.accountId),
      currentTokenId: principal.tokenId,
      // The console shows times in the school's zone: one's own school's, else the service configuration's default.
      timeZone: security.directory.terms(principal.schoolId ?? '').calendar.timeZone,
    };
  }

  app.get('/api/me', { config: { access: 'password-change' } }, async (request) => ({
    ...(await describeMe(principalOf(request))),
    // Only to the console's own session: a page reload finds its CSRF token here.
    ...(request.cookieSession === undefined ? {} : { csrfToken: csrfTokenFor(request.cookieSession) }),
  }));

  app.post('/api/auth/password', { config: { access: 'password-change' } }, async (request) => {
    const principal = principalOf(request);
    const body = parseRequestPart(passwordChangeSchema, request.body ?? {}, 'body field');
    if (body.newPassword === body.currentPassword) throw new ApiError('INVALID_ARGUMENT', 'the new password must differ from the current one');
    await security.signIn.checkCurrentPassword(principal, body.currentPassword, request.ip);
    // The other sessions of this account end: whoever knew the old password is signed out.
    await security.accounts.setPassword(principal.accountId, body.newPassword, { mustChange: false, keepTokenId: principal.tokenId }, { actor: `user:${principal.name}`, source: request.ip });
    return { changed: true };
  });
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loginRequestSchema, passwordSchema, type LoginResponse } from '../../protocol/index.js';
import type { Security } from '../security.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { principalOf } from './request-auth.js';

const passwordChangeSchema = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: passwordSchema,
});

/** Signing in and out, who am I, and choosing one's own password. */
export function authRoutes(app: FastifyInstance, security: Security): void {
  app.post('/api/auth/login', { config: { access: 'credentials' } }, async (request): Promise<LoginResponse> => {
    const body = parseRequestPart(loginRequestSchema, request.body ?? {}, 'body field');
    return security.signIn.login(body, request.ip);
  });

  app.post('/api/auth/logout', { config: { access: 'password-change' } }, async (request) => {
    await security.signIn.logout(principalOf(request), request.ip);
    return { signedOut: true };
  });

  app.get('/api/me', { config: { access: 'password-change' } }, async (request) => {
    const principal = principalOf(request);
    const scope = principal.role === 'engineer' && principal.teamId !== null ? [...(security.directory.schoolsOfTeam(principal.teamId) ?? [])] : principal.schoolId === null ? null : [principal.schoolId];
    return {
      account: { id: principal.accountId, name: principal.name, role: principal.role, schoolId: principal.schoolId, teamId: principal.teamId, mustChangePassword: principal.mustChangePassword },
      // null: every school (operators).
      schools: principal.role === 'operator' ? null : scope,
      tokens: await security.tokens.list(principal.accountId),
      currentTokenId: principal.tokenId,
    };
  });

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

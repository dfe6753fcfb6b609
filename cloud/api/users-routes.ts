import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accountNameSchema, passwordSchema, roleSchema, teamIdSchema, topicIdSchema } from '../../protocol/index.js';
import { mayManageAccount } from '../accounts/access-policy.js';
import type { Account } from '../accounts/accounts.js';
import { generatePassword } from '../accounts/password-hash.js';
import type { Security } from '../security.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { actorOf, requirePermission } from './request-auth.js';

const newUserSchema = z.strictObject({
  name: accountNameSchema,
  role: roleSchema,
  school: topicIdSchema.optional().describe('The school of a school admin or IT teacher'),
  team: teamIdSchema.optional().describe("An engineer's service team"),
  password: passwordSchema.optional().describe('Omitted: a one-time password is generated, returned once, and must be changed at the first sign-in'),
});

const resetSchema = z.strictObject({
  password: passwordSchema.optional().describe('Omitted: a one-time password is generated and returned once'),
});

const nameParamsSchema = z.strictObject({ name: z.string().min(1).max(64) });

/**
 * Accounts, managed by operators (every account) and school admins (the school admins and IT
 * teachers of their own school). An account outside the caller's reach answers 404, as one that
 * does not exist.
 */
export function usersRoutes(app: FastifyInstance, security: Security): void {
  const { accounts } = security;

  /** The named account if the caller may manage it; otherwise 404, so no one probes for names. */
  async function manageable(request: FastifyRequest): Promise<Account> {
    const principal = requirePermission(request, 'users.manage');
    const { name } = parseRequestPart(nameParamsSchema, request.params, 'path parameter');
    const account = await accounts.byName(name);
    if (!account || !mayManageAccount(principal, account)) throw new ApiError('ACCOUNT_NOT_FOUND', `no account "${name}" that you manage`);
    return account;
  }

  app.get('/api/users', async (request) => {
    const principal = requirePermission(request, 'users.manage');
    const list = await accounts.list(principal.role === 'operator' ? {} : { schoolIds: principal.schoolId === null ? [] : [principal.schoolId] });
    return { users: list.filter((account) => mayManageAccount(principal, account)) };
  });

  app.post('/api/users', async (request) => {
    const principal = requirePermission(request, 'users.manage');
    const body = parseRequestPart(newUserSchema, request.body ?? {}, 'body field');
    const target = { role: body.role, schoolId: body.school ?? null };
    if (!mayManageAccount(principal, target)) {
      throw new ApiError('FORBIDDEN', principal.role === 'operator' ? 'not allowed' : `a school admin creates school admins and IT teachers of their own school (${principal.schoolId ?? '-'}) only`);
    }
    const oneTime = body.password === undefined ? generatePassword() : undefined;
    const account = await accounts.create(
      { name: body.name, role: body.role, schoolId: body.school ?? null, teamId: body.team ?? null, password: body.password ?? oneTime ?? '', mustChangePassword: oneTime !== undefined },
      actorOf(request),
    );
    return { user: account, ...(oneTime === undefined ? {} : { oneTimePassword: oneTime }) };
  });

  app.post('/api/users/:name/disable', async (request) => {
    const account = await manageable(request);
    if (account.id === request.principal?.accountId) throw new ApiError('INVALID_ARGUMENT', 'you cannot disable your own account; another administrator can');
    return { user: await accounts.setDisabled(account.id, true, actorOf(request)) };
  });

  app.post('/api/users/:name/enable', async (request) => {
    const account = await manageable(request);
    return { user: await accounts.setDisabled(account.id, false, actorOf(request)) };
  });

  app.post('/api/users/:name/password', async (request) => {
    const account = await manageable(request);
    if (account.id === request.principal?.accountId) throw new ApiError('INVALID_ARGUMENT', 'change your own password with POST /api/auth/password (it asks for the current one)');
    const body = parseRequestPart(resetSchema, request.body ?? {}, 'body field');
    const password = body.password ?? generatePassword();
    // Someone else chose it: its owner must replace it at the next sign-in, and their sessions end now.
    const user = await accounts.setPassword(account.id, password, { mustChange: true }, actorOf(request));
    return { user, ...(body.password === undefined ? { oneTimePassword: password } : {}) };
  });
}

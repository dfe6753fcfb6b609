import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { may, refusalHint, schoolScope, type Permission, type Principal, type SchoolScope } from '../accounts/access-policy.js';
import type { ApiTokens } from '../accounts/api-tokens.js';
import { credentialsAllowed } from '../transport-security.js';
import { ApiError } from './api-error.js';
import { CSRF_HEADER, csrfTokenMatches, isSafeMethod, sessionCookieOf } from './browser-session.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts as; set for every route that is not public. */
    principal?: Principal;
    /** The console's session token when the request was signed in by its cookie (not by a bearer token). */
    cookieSession?: string;
  }
  interface FastifyContextConfig {
    /**
     * public: no sign-in (health, login, enrollment); credentials: no sign-in, but it carries a
     * secret in its body, so plain connections from other machines are refused; password-change:
     * allowed to a signed-in person who must change their password first.
     */
    access?: 'public' | 'credentials' | 'password-change';
  }
}

export interface RequestAuthOptions {
  tokens: ApiTokens;
  allowPlaintextCredentials: boolean;
  /** Read-only bearer token for /metrics (`--metrics-token-file`); without it /metrics needs an operator. */
  metricsToken?: string;
  schoolsOfTeam: (teamId: string) => ReadonlySet<string> | undefined;
}

/**
 * Every request but the public ones needs "Authorization: Bearer TOKEN", or the console's session
 * cookie and, for anything but a read, its CSRF token in the X-CSRF-Token header. The token is
 * checked in the database on each request, so a revoked token or a disabled account stops at once.
 * Tokens and secrets are refused on a plain connection from another machine.
 */
export function installRequestAuth(app: FastifyInstance, options: RequestAuthOptions): void {
  const metricsToken = options.metricsToken === undefined ? undefined : Buffer.from(options.metricsToken, 'utf8');
  app.decorateRequest('principal', undefined);
  app.decorateRequest('cookieSession', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access;
    const authorization = request.headers.authorization;
    // A bearer token wins: a script that sends one means it, whatever cookie its client keeps.
    const cookieToken = authorization === undefined ? sessionCookieOf(request) : undefined;
    if ((authorization !== undefined || cookieToken !== undefined || access === 'credentials') && !credentialsAllowed({ allowPlaintextCredentials: options.allowPlaintextCredentials }, { encrypted: request.protocol === 'https', remoteAddress: request.socket.remoteAddress })) {
      throw new ApiError('INSECURE_TRANSPORT', 'credentials are accepted only over https or from this machine; this cloud serves no https (--tls-cert/--tls-key), or you used http://');
    }
    if (access === 'public' || access === 'credentials') return;
    const token = bearerToken(authorization) ?? cookieToken;
    if (token === undefined) {
      void reply.header('www-authenticate', 'Bearer realm="avcare"');
      throw new ApiError('UNAUTHENTICATED', 'sign in first: this request needs "Authorization: Bearer TOKEN" (or the console\'s session)');
    }
    // Before the database: a forged cross-site request learns nothing, not even whether the session lives.
    if (token === cookieToken && !isSafeMethod(request.method) && !csrfTokenMatches(token, headerText(request.headers[CSRF_HEADER]))) {
      throw new ApiError('CSRF_TOKEN_MISSING', `a change made with the console's session needs its CSRF token in the ${CSRF_HEADER} header (from GET /api/me): reload the console`);
    }
    if (request.routeOptions.url === '/metrics' && metricsToken !== undefined && sameText(token, metricsToken)) return;
    let principal: Principal | undefined;
    try {
      principal = await options.tokens.authenticate(token);
    } catch (error) {
      // The database cannot answer: the server's trouble, not a wrong token.
      throw new ApiError('STORE_UNAVAILABLE', 'the database cannot be queried right now', { cause: error });
    }
    if (!principal) {
      void reply.header('www-authenticate', 'Bearer realm="avcare", error="invalid_token"');
      throw new ApiError('UNAUTHENTICATED', 'the token is unknown, expired or revoked: sign in again');
    }
    if (principal.mustChangePassword && access !== 'password-change') {
      throw new ApiError('PASSWORD_CHANGE_REQUIRED', 'this account signed in with a password someone else set: choose your own (POST /api/auth/password) before anything else');
    }
    request.principal = principal;
    if (token === cookieToken) request.cookieSession = token;
  });
  app.decorate('schoolsOfTeam', options.schoolsOfTeam);
}

declare module 'fastify' {
  interface FastifyInstance {
    schoolsOfTeam: (teamId: string) => ReadonlySet<string> | undefined;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sameText(given: string, expected: Buffer): boolean {
  const buffer = Buffer.from(given, 'utf8');
  return buffer.length === expected.length && timingSafeEqual(buffer, expected);
}

/** The signed-in person; the hook guarantees one on every non-public route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError('UNAUTHENTICATED', 'sign in first');
  return request.principal;
}

/** The person, if their role may do this; 403 otherwise (the role is no secret to its holder). */
export function requirePermission(request: FastifyRequest, permission: Permission): Principal {
  const principal = principalOf(request);
  if (!may(principal, permission)) throw new ApiError('FORBIDDEN', `a ${principal.role.replace('_', ' ')} may not do this (${permission})`, { hint: refusalHint(principal.role, permission) });
  return principal;
}

/** The schools the signed-in person sees. */
export function scopeOf(request: FastifyRequest): SchoolScope {
  return schoolScope(principalOf(request), request.server.schoolsOfTeam);
}

/** A list filter for the person's scope: undefined means every school. */
export function scopeFilter(scope: SchoolScope): readonly string[] | undefined {
  return scope.all ? undefined : [...scope.schools];
}

/** Who did it and from where, for audit entries. */
export function actorOf(request: FastifyRequest): { actor: string; source: string } {
  return { actor: `user:${principalOf(request).name}`, source: request.ip };
}

import type { FastifyError, FastifyInstance } from 'fastify';
import { isAvcareError, untrustedText } from '../../protocol/index.js';

/**
 * The codes the HTTP API answers with, each with its status. A code is never renamed: dashboards
 * and scripts match on it. ROUTE_NOT_FOUND and INTERNAL_ERROR are HTTP-only; the rest are
 * protocol/ ERROR_CODES, which an AvcareError thrown by a handler keeps.
 */
export const API_ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  LOGIN_FAILED: 401,
  ENROLL_TOKEN_UNKNOWN: 401,
  FORBIDDEN: 403,
  CSRF_TOKEN_MISSING: 403,
  PASSWORD_CHANGE_REQUIRED: 403,
  INSECURE_TRANSPORT: 403,
  ENROLL_TOKEN_EXPIRED: 403,
  ENROLL_TOKEN_USED_UP: 403,
  ENROLL_TOKEN_REVOKED: 403,
  ENROLL_NOT_SAME_PC: 403,
  AGENT_NOT_FOUND: 404,
  SCHOOL_NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  ACCOUNT_NOT_FOUND: 404,
  ENROLL_TOKEN_NOT_FOUND: 404,
  REFLECTOR_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  SESSION_SCOPE_DENIED: 403,
  AGENT_REVOKED: 403,
  SESSION_STATE_CONFLICT: 409,
  AGENT_OFFLINE: 409,
  ROUTE_NOT_FOUND: 404,
  TICKET_STATE_CONFLICT: 409,
  ACCOUNT_EXISTS: 409,
  REFLECTOR_EXISTS: 409,
  LOGIN_THROTTLED: 429,
  ENROLL_THROTTLED: 429,
  INTERNAL_ERROR: 500,
  STORE_UNAVAILABLE: 503,
  CONSOLE_NOT_BUILT: 503,
  BROKER_ACCESS_FAILED: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export interface ApiErrorBody {
  /** `hint`: what this caller can do about it, when the cloud knows better than the code's general hint. */
  error: { code: string; message: string; hint?: string };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly hint: string | undefined;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options?.hint;
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

export function errorBody(code: string, message: string, hint?: string): ApiErrorBody {
  return { error: { code, message, ...(hint === undefined ? {} : { hint }) } };
}

/**
 * Every failure leaves the API as `{ error: { code, message } }`: our own errors with their
 * status, fastify's (bad content type, body too large, ...) with the status fastify chose, and
 * anything unexpected as a 500 whose details stay in the log, not in the response.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof ApiError) {
      if (error.status >= 500) request.log.error({ err: error.cause ?? error }, error.message);
      return reply.status(error.status).send(errorBody(error.code, error.message, error.hint));
    }
    if (isAvcareError(error) && error.code in API_ERROR_STATUS) {
      const status = API_ERROR_STATUS[error.code as ApiErrorCode];
      if (status === 429 && typeof error.context.retryAfterSeconds === 'number') void reply.header('retry-after', String(error.context.retryAfterSeconds));
      if (status >= 500) request.log.error({ err: error }, error.message);
      return reply.status(status).send(errorBody(error.code, error.message, error.specificHint));
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send(errorBody('code' in error && typeof error.code === 'string' ? error.code : 'BAD_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send(errorBody('INTERNAL_ERROR', 'the server failed to answer this request; see its log'));
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody('ROUTE_NOT_FOUND', `no route ${request.method} ${untrustedText(request.url.split('?')[0] ?? '', 200) ?? ''}; see GET /api for the routes`)),
  );
}

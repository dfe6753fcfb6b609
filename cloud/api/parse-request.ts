import type { z } from 'zod';
import { ApiError } from './api-error.js';

/**
 * Parses a request's query or params with a zod schema; a failure becomes a 400 that names the
 * parameter and what is wrong with it, so `?state=onlin` says "state" rather than "bad request".
 */
export function parseRequestPart<Schema extends z.ZodType>(schema: Schema, value: unknown, part: 'query parameter' | 'path parameter' | 'body field'): z.infer<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    throw new ApiError('INVALID_ARGUMENT', `unknown ${part} ${issue.keys.map((key) => `"${key}"`).join(', ')}`);
  }
  const name = issue?.path.map(String).join('.') || '(all)';
  throw new ApiError('INVALID_ARGUMENT', `invalid ${part} "${name}": ${issue?.message ?? 'not accepted'}`);
}

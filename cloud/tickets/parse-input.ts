import type { z } from 'zod';
import { AvcareError } from '../../protocol/index.js';

/**
 * Parse a school's or contract's settings, or refuse them with every problem named by its field
 * path ('weeklyHours.6.0.end: start must be before end'), so whoever typed the setting can find it.
 */
export function parseOrRefuse<Schema extends z.ZodType>(schema: Schema, input: unknown, subject: string): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path === '' ? subject : path}: ${issue.message}`;
  });
  throw new AvcareError('INVALID_ARGUMENT', `invalid ${subject}: ${problems.join('; ')}`, { problems });
}

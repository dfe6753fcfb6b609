import { z } from 'zod';

/** One reply shape for every request/response exchange: `{status, data, error, transaction}`. */
export function replyEnvelopeSchema<T extends z.ZodType>(data: T) {
  return z.object({
    status: z.enum(['ok', 'error']),
    data: data.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    transaction: z.string().nullable(),
  });
}

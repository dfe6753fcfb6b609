import type { z } from 'zod';

export type ReadMessage<T> = { message: T } | { reason: 'oversize' | 'bad-json' | 'schema'; detail: string };

/** Reads one JSON message against its schema; the reason and detail say what was wrong and where. */
export function readJsonMessage<S extends z.ZodType>(schema: S, payload: Buffer, maxBytes: number): ReadMessage<z.infer<S>> {
  if (payload.length > maxBytes) return { reason: 'oversize', detail: `${payload.length} bytes is over ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    return { reason: 'bad-json', detail: (error as Error).message };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { reason: 'schema', detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}` };
  }
  return { message: parsed.data };
}

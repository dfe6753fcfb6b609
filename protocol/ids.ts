import { z } from 'zod';

/**
 * School, room and agent ids become MQTT topic levels, so they may not hold the topic
 * separators or wildcards (`/`, `+`, `#`) and stay short and printable.
 */
export const topicIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may hold letters, digits, ".", "_" and "-" and must start with a letter or digit');

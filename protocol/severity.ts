import { z } from 'zod';

/**
 * Ticket categories from the schools' after-sales practice (shared/domain.md), plus `network`
 * because classroom media lives on the network.
 */
export const faultCategorySchema = z
  .enum(['software', 'compatibility', 'operation', 'hardware', 'backend', 'network'])
  .describe('software fault, compatibility, operation question, hardware fault, backend/system fault, network fault');
export type FaultCategory = z.infer<typeof faultCategorySchema>;

/**
 * general: core functions still usable; urgent: part of teaching blocked (resolve within 8 h);
 * critical: room cannot teach or many rooms hit (resolve within 24 h). shared/domain.md.
 */
export const severitySchema = z.enum(['general', 'urgent', 'critical']);
export type Severity = z.infer<typeof severitySchema>;

import { z } from 'zod';

/** How full the agent's outbox is and what it had to drop: sent with every health sample. */
export const outboxStatsSchema = z.object({
  pending: z.number().int().nonnegative(),
  droppedHealth: z.number().int().nonnegative().describe('Oldest health samples thinned because the outbox was full'),
  droppedOther: z.number().int().nonnegative().describe('Other events dropped (never faults unless the outbox is full of faults)'),
  droppedFaults: z.number().int().nonnegative(),
});
export type OutboxStats = z.infer<typeof outboxStatsSchema>;

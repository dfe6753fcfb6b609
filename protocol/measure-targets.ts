/**
 * The figures a room's network and A/V sync are judged by: the agent's verdicts and faults use
 * them, and the console draws them on its charts.
 */

/** Microsoft Teams' targets from client to edge: what a remote class needs. */
export const PATH_TARGETS = { rttMs: 100, lossPercent: 1, jitterMs: 30 } as const;
/** Past these, calls visibly suffer (Twilio's warnings): the fault thresholds. */
export const PATH_LIMITS = { rttMs: 400, lossPercent: 3, jitterMs: 30, mos: 3.5 } as const;

/**
 * Sound ahead of (positive) or behind (negative) the picture, in ms, as ITU-R BT.1359 counts it:
 * detectable past +45 / -125 ms, acceptable to +90 / -185.
 */
export const BT1359 = { detectable: { lead: 45, lag: -125 }, acceptable: { lead: 90, lag: -185 } } as const;

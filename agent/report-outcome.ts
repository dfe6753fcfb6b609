/**
 * daemon: the running agent sent it (or will); direct: this command sent it; next-run: the broker
 * is unreachable and no agent runs, so it goes when one does. (With nothing to send it to, the
 * command refuses the report instead of keeping it.)
 */
export type ReportDelivery = 'daemon' | 'direct' | 'next-run';

export interface ReportOutcome {
  reportId: string;
  seq: number;
  status: 'sent' | 'queued';
  delivery: ReportDelivery;
  deviceId?: string;
  /** false when --device names no device of the probe cycle (reported anyway: it may be the missing one). */
  deviceFound?: boolean;
  /** Why a direct send failed, for the IT teacher. */
  brokerError?: string;
  outbox: string;
}

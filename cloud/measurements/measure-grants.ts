/**
 * The cloud's answer to an agent asking for a measurement session: a grant signed with the
 * cloud's key naming the session, the agent and the reflector to use, or a refusal. One session
 * per agent at a time and a few per hour, so a misbehaving agent cannot keep a reflector busy.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CloudSignal, MeasureTest, SignalSender, SignedGrant } from '../../protocol/measure-signal.js';
import type { CloudSigningKey } from '../identity/signing-key.js';

export interface MeasureGrantsOptions {
  signingKey: Pick<CloudSigningKey, 'sign' | 'keyId'>;
  /** The reflector an agent is sent to; undefined when the cloud has none. */
  reflectorFor(agent: SignalSender): string | undefined;
  log: Logger;
  /** How long a grant may wait for its offer. */
  ttlSeconds?: number;
  /** Grants per agent in any hour: scheduled tests take two, a person a few more. */
  perHour?: number;
  now?: () => Date;
}

const DEFAULT_TTL_SECONDS = 120;
const DEFAULT_PER_HOUR = 20;

export class MeasureGrants {
  private readonly issued = new Map<string, number[]>();
  private readonly now: () => Date;

  constructor(private readonly options: MeasureGrantsOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The message to send back to the agent's inbox. */
  answer(from: SignalSender, requestId: string, test: MeasureTest): CloudSignal {
    const reflectorId = this.options.reflectorFor(from);
    if (reflectorId === undefined) return { type: 'measure-refused', requestId, reason: 'this cloud runs no reflector' };
    const now = this.now();
    const key = `${from.school}/${from.agent}`;
    const recent = (this.issued.get(key) ?? []).filter((at) => at > now.getTime() - 3_600_000);
    if (recent.length >= (this.options.perHour ?? DEFAULT_PER_HOUR)) {
      this.options.log.warn({ agent: key }, 'refused a measurement session: too many this hour');
      return { type: 'measure-refused', requestId, reason: `at most ${this.options.perHour ?? DEFAULT_PER_HOUR} tests an hour per agent` };
    }
    recent.push(now.getTime());
    this.issued.set(key, recent);
    const payload = JSON.stringify({
      sessionId: randomUUID(),
      schoolId: from.school,
      agentId: from.agent,
      reflectorId,
      test,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + (this.options.ttlSeconds ?? DEFAULT_TTL_SECONDS) * 1000).toISOString(),
    });
    const grant: SignedGrant = { payload, signature: this.options.signingKey.sign(payload), keyId: this.options.signingKey.keyId };
    return { type: 'measure-grant', requestId, grant };
  }
}

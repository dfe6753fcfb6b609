/**
 * Remote sessions in the running agent, loaded at the first session message or consent request:
 * an agent that is never asked keeps its memory budget (bench:agent). It needs the cloud key the
 * agent pinned at enrolment; an agent that is not enrolled takes no session at all.
 */
import type { Logger } from '../../protocol/log.js';
import { SESSION_KIND } from '../../protocol/topics.js';
import type { ActionHooks } from './session-actions.js';
import type { SessionService } from './session-service.js';

export interface RemoteSessionsOptions {
  identity: { schoolId: string; roomId: string; agentId: string };
  /** The cloud key pinned at enrolment; undefined when the agent is not enrolled. */
  signingKey: { publicKeyPem: string; keyId: string } | undefined;
  stateDir: string;
  hooks: ActionHooks;
  log: Logger;
}

export function remoteSessionsOnRequest(options: RemoteSessionsOptions) {
  let publishNow: (topic: string, payload: string) => Promise<void> = () => Promise.reject(new Error('not publishing'));
  let loading: Promise<SessionService | undefined> | undefined;
  const load = (): Promise<SessionService | undefined> =>
    (loading ??= (async () => {
      const signingKey = options.signingKey;
      if (signingKey === undefined) return undefined;
      const { SessionService: Service } = await import('./session-service.js');
      const { sessionActions } = await import('./session-actions.js');
      return new Service({
        identity: options.identity,
        signingKey,
        stateDir: options.stateDir,
        publish: (topic, payload) => publishNow(topic, payload),
        runAction: sessionActions(options.hooks),
        log: options.log,
        onRequest: (record) => options.log.warn({ sessionId: record.request.sessionId, engineer: record.request.engineer.name, scopes: record.request.scopes, answerBy: record.request.answerBy }, 'a remote session is asked for: `avcare-agent consent list` shows it'),
      });
    })());
  return {
    /** True when the message was a session message (handled here), false for anything else. */
    onInbox(topic: string, payload: Buffer): boolean {
      if (!topic.endsWith(`/${SESSION_KIND}`)) return false;
      load().then(
        (service) => service?.receive(payload),
        (error: unknown) => options.log.error({ err: error }, 'cannot load remote sessions'),
      );
      return true;
    },
    service: load,
    start(publish: (topic: string, payload: string) => Promise<void>): void {
      publishNow = publish;
    },
  };
}

/**
 * The impaired relay in a process of its own, so its timers are not held up by the media work of
 * the process under test (a 720p frame is a megabyte to fill). Parent side and child side in one
 * file: `startRelayProcess()` forks this file, which then serves the relay.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ImpairedRelay, type DirectionTruth, type Impairment } from './impaired-relay.js';

type Command =
  | { type: 'start'; host: string; target: { address: string; port: number }; impairment: Impairment }
  | { type: 'retarget'; target: { address: string; port: number } }
  | { type: 'impair'; impairment: Impairment }
  | { type: 'truth' };
type Request = Command & { id: number };

export interface RelayHandle {
  host: string;
  port: number;
  retarget(target: { address: string; port: number }): Promise<void>;
  setImpairment(impairment: Impairment): Promise<void>;
  truth(): Promise<{ up: DirectionTruth; down: DirectionTruth }>;
  close(): void;
}

export async function startRelayProcess(host: string, impairment: Impairment): Promise<RelayHandle> {
  const self = fileURLToPath(import.meta.url);
  const child: ChildProcess = fork(self, ['--serve'], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const pending = new Map<number, (value: unknown) => void>();
  child.on('message', (message: { id: number; value: unknown }) => pending.get(message.id)?.(message.value));
  const ask = <T>(request: Command): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = ++next;
      pending.set(id, (value) => resolve(value as T));
      child.send({ ...request, id });
    });
  const port = await ask<number>({ type: 'start', host, target: { address: host, port: 9 }, impairment });
  return {
    host,
    port,
    retarget: (target) => ask({ type: 'retarget', target }),
    setImpairment: (value) => ask({ type: 'impair', impairment: value }),
    truth: () => ask({ type: 'truth' }),
    close: () => child.kill(),
  };
}

if (process.argv.includes('--serve')) {
  let relay: ImpairedRelay | undefined;
  process.on('message', (request: Request) => {
    const reply = (value: unknown): void => void process.send?.({ id: request.id, value });
    void (async () => {
      switch (request.type) {
        case 'start':
          relay = await ImpairedRelay.start(request.host, request.target, request.impairment);
          return reply(relay.port);
        case 'retarget':
          relay?.retarget(request.target);
          return reply(true);
        case 'impair':
          relay?.setImpairment(request.impairment);
          return reply(true);
        case 'truth':
          return reply(relay?.truth());
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

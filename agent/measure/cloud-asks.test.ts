import { describe, expect, it } from 'vitest';
import type { CloudSignal } from '../../protocol/measure-signal.js';
import { silentLogger } from '../../protocol/log.js';
import { parseAgentConfig } from '../config.js';
import { answerCloudAsks } from './cloud-asks.js';

function harness(measure: Record<string, unknown> = {}) {
  let deliver: (message: CloudSignal) => void = () => undefined;
  const runs: string[] = [];
  let clock = 0;
  let finish: () => void = () => undefined;
  const config = parseAgentConfig({ measure: { minMinutesBetweenRequested: 10, ...measure } });
  const stop = answerCloudAsks({
    link: {
      send: () => Promise.resolve(),
      subscribe: (handler) => {
        deliver = handler;
        return () => (deliver = () => undefined);
      },
    },
    measure: {
      run: (test, trigger) => {
        runs.push(`${test}:${trigger}`);
        return new Promise((resolve) => (finish = () => resolve({ status: 'killed', message: '', deadlineMs: 0, wallMs: 0 })));
      },
    },
    config,
    log: silentLogger,
    now: () => clock,
  });
  const ask = (reason: 'schedule' | 'room-ready'): void => deliver({ type: 'measure-ask', askId: crypto.randomUUID(), tests: ['network', 'avsync'], reason });
  return { ask, runs, stop, advance: (ms: number) => (clock += ms), finish: () => finish() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("the agent's answer to the cloud's asks", () => {
  it('runs the tests asked for one after the other, and declines asks sooner than its minimum interval', async () => {
    const agent = harness();
    agent.ask('room-ready');
    await tick();
    expect(agent.runs).toEqual(['network:room-ready']);
    agent.ask('schedule');
    agent.finish();
    await tick();
    expect(agent.runs).toEqual(['network:room-ready', 'avsync:room-ready']);
    agent.finish();
    await tick();
    agent.advance(5 * 60_000);
    agent.ask('schedule');
    await tick();
    expect(agent.runs).toHaveLength(2);
    agent.advance(6 * 60_000);
    agent.ask('schedule');
    await tick();
    expect(agent.runs.at(-1)).toBe('network:schedule');
    agent.stop();
  });

  it('declines every ask when the school turned them off', async () => {
    const agent = harness({ acceptCloudRequests: false });
    agent.ask('schedule');
    await tick();
    expect(agent.runs).toEqual([]);
  });
});

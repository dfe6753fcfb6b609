/**
 * The cloud asks agents to test, because it knows what they do not: the time of day in the
 * school's zone and the room's timetable. Every `everyMinutes` in school hours (not during a
 * lesson, unless configured), and once shortly before each lesson: the "room ready" check, so a
 * problem is known before the teacher walks in. Only online agents are asked; the agent keeps its
 * own limits (it may decline, and never runs two tests at once).
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { AskReason, CloudSignal, MeasureTest } from '../../protocol/measure-signal.js';
import type { AgentSummary } from '../store/store.js';
import type { ServiceDirectory } from '../tickets/service-directory.js';

export interface ScheduleSettings {
  enabled: boolean;
  everyMinutes: number;
  roomReadyMinutes: number;
  duringLessons: boolean;
  /** School hours, local time of timeZone, on these ISO weekdays (1 = Monday). */
  dayStart: string;
  dayEnd: string;
  weekdays: readonly number[];
  timeZone: string;
  tests: readonly MeasureTest[];
}

export const DEFAULT_SCHEDULE: ScheduleSettings = {
  enabled: true,
  everyMinutes: 30,
  roomReadyMinutes: 10,
  duringLessons: false,
  dayStart: '07:30',
  dayEnd: '17:30',
  weekdays: [1, 2, 3, 4, 5],
  timeZone: 'Asia/Shanghai',
  tests: ['network', 'avsync'],
};

export interface Ask {
  agent: Pick<AgentSummary, 'schoolId' | 'roomId' | 'agentId'>;
  message: Extract<CloudSignal, { type: 'measure-ask' }>;
}

type Teaching = Pick<ServiceDirectory, 'teaching'>;

/**
 * Decides who to ask now; remembers what it asked, so each lesson gets one room-ready check and
 * each agent at most one scheduled test per period. Pure apart from that memory.
 */
export class TestPlanner {
  private readonly lastScheduled = new Map<string, number>();
  private readonly readyAsked = new Map<string, number>();

  constructor(
    private readonly settings: ScheduleSettings,
    private readonly teaching: Teaching,
  ) {}

  due(agents: readonly Pick<AgentSummary, 'schoolId' | 'roomId' | 'agentId'>[], now: Date): Ask[] {
    if (!this.settings.enabled) return [];
    this.forget(now);
    const asks: Ask[] = [];
    for (const agent of agents) {
      const key = `${agent.schoolId}:${agent.agentId}`;
      const context = this.teaching.teaching(agent.schoolId, agent.roomId, now);
      const minutes = context?.minutesToNextLesson;
      if (context && !context.inLesson && minutes !== null && minutes !== undefined && minutes <= this.settings.roomReadyMinutes) {
        // Minutes to the lesson are rounded up: the lesson starts on the minute at or before now + minutes.
        const lessonAt = new Date(Math.floor((now.getTime() + minutes * 60_000) / 60_000) * 60_000);
        const lessonKey = `${key}@${lessonAt.getTime()}`;
        if (!this.readyAsked.has(lessonKey)) {
          this.readyAsked.set(lessonKey, now.getTime());
          this.lastScheduled.set(key, now.getTime());
          asks.push(this.ask(agent, 'room-ready', lessonAt));
          continue;
        }
      }
      if (context?.inLesson && !this.settings.duringLessons) continue;
      if (!this.inSchoolHours(now)) continue;
      const last = this.lastScheduled.get(key);
      if (last !== undefined && now.getTime() - last < this.settings.everyMinutes * 60_000) continue;
      this.lastScheduled.set(key, now.getTime());
      asks.push(this.ask(agent, 'schedule'));
    }
    return asks;
  }

  inSchoolHours(now: Date): boolean {
    const local = DateTime.fromJSDate(now, { zone: this.settings.timeZone });
    if (!this.settings.weekdays.includes(local.weekday)) return false;
    const minutes = local.hour * 60 + local.minute;
    return minutes >= clockMinutes(this.settings.dayStart) && minutes < clockMinutes(this.settings.dayEnd);
  }

  private ask(agent: Ask['agent'], reason: AskReason, lessonAt?: Date): Ask {
    return {
      agent,
      message: { type: 'measure-ask', askId: randomUUID(), tests: [...this.settings.tests], reason, ...(lessonAt ? { lessonAt: lessonAt.toISOString() } : {}) },
    };
  }

  /** A day's memory is enough: lessons repeat weekly, periods are minutes. */
  private forget(now: Date): void {
    const before = now.getTime() - 86_400_000;
    for (const [key, at] of this.readyAsked) if (at < before) this.readyAsked.delete(key);
  }
}

function clockMinutes(clock: string): number {
  const [hours = 0, minutes = 0] = clock.split(':').map(Number);
  return hours * 60 + minutes;
}

export interface TestSchedulerOptions {
  planner: TestPlanner;
  onlineAgents(): Promise<readonly Pick<AgentSummary, 'schoolId' | 'roomId' | 'agentId'>[]>;
  send(ask: Ask): Promise<void>;
  log: Logger;
  tickMs?: number;
}

/** Runs the planner once a minute against the agents online now. */
export function startTestScheduler(options: TestSchedulerOptions): { stop(): void } {
  const log = options.log.child({ module: 'test-scheduler' });
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const asks = options.planner.due(await options.onlineAgents(), new Date());
      for (const ask of asks) {
        await options.send(ask).catch((error: unknown) => log.warn({ err: error, agent: `${ask.agent.schoolId}:${ask.agent.agentId}` }, 'could not ask an agent to test'));
      }
      if (asks.length > 0) log.info({ asked: asks.length, roomReady: asks.filter((ask) => ask.message.reason === 'room-ready').length }, 'asked agents to test');
    } catch (error) {
      log.warn({ err: error }, 'the test schedule could not run this minute');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), options.tickMs ?? 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

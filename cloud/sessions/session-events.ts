import { EventEmitter } from 'node:events';
import type { RemoteCommand, RemoteSession } from './session-store.js';

/** One step of a session as the school and the engineer watch it. */
export type SessionEvent = { type: 'session'; session: RemoteSession } | { type: 'command'; schoolId: string; command: RemoteCommand };

export interface SessionWatch {
  /** Only this session's steps. */
  sessionId?: string;
  /** Only these schools' steps; undefined: every school. */
  schoolIds?: ReadonlySet<string>;
}

function schoolOf(event: SessionEvent): string {
  return event.type === 'session' ? event.session.schoolId : event.schoolId;
}

function sessionOf(event: SessionEvent): string {
  return event.type === 'session' ? event.session.id : event.command.sessionId;
}

/** The live stream of session steps in this process: the API streams it to whoever watches. */
export class SessionEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Each watcher (an open API stream, a CLI waiting for a result) is one listener.
    this.emitter.setMaxListeners(0);
  }

  emit(event: SessionEvent): void {
    this.emitter.emit('event', event);
  }

  /** Calls `listener` with each step the watch matches; returns the function that stops it. */
  watch(watch: SessionWatch, listener: (event: SessionEvent) => void): () => void {
    const filtered = (event: SessionEvent): void => {
      if (watch.sessionId !== undefined && sessionOf(event) !== watch.sessionId) return;
      if (watch.schoolIds !== undefined && !watch.schoolIds.has(schoolOf(event))) return;
      listener(event);
    };
    this.emitter.on('event', filtered);
    return () => this.emitter.off('event', filtered);
  }
}

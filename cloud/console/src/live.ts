/**
 * The tab's one live stream (GET /api/events): opened when the first page listens, shared by all,
 * closed at sign-out. A page says which kinds of change it cares about and reloads what it shows;
 * a burst of changes becomes one reload.
 */
import { onMounted, onUnmounted, ref } from 'vue';

export type LiveKind = 'agent' | 'fault' | 'ticket' | 'session';
export interface LiveChange {
  type: LiveKind;
  schoolId: string;
  agent?: string;
  code?: string;
  ticket?: string;
  session?: string;
  state?: string;
  status?: string;
  at: string;
}

type Listener = (change: LiveChange) => void;

const listeners = new Set<{ kinds: ReadonlySet<LiveKind>; listener: Listener }>();
let source: EventSource | undefined;
/** False while the stream is down (the browser reconnects by itself); pages may say so. */
export const liveConnected = ref(false);

function open(): void {
  if (source !== undefined) return;
  source = new EventSource('/api/events', { withCredentials: true });
  source.onopen = () => {
    liveConnected.value = true;
  };
  source.onerror = () => {
    liveConnected.value = false;
  };
  for (const kind of ['agent', 'fault', 'ticket', 'session'] as const) {
    source.addEventListener(kind, (event) => {
      let change: LiveChange;
      try {
        change = JSON.parse((event as MessageEvent<string>).data) as LiveChange;
      } catch {
        return;
      }
      for (const entry of listeners) if (entry.kinds.has(change.type)) entry.listener(change);
    });
  }
}

export function closeLiveEvents(): void {
  source?.close();
  source = undefined;
  liveConnected.value = false;
}

/** While the calling component is mounted: `handler` after changes of these kinds (at most every 500 ms). */
export function useLiveEvents(kinds: readonly LiveKind[], handler: (changes: LiveChange[]) => void): void {
  let pending: LiveChange[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const entry = {
    kinds: new Set(kinds),
    listener: (change: LiveChange) => {
      pending.push(change);
      timer ??= setTimeout(() => {
        const changes = pending;
        pending = [];
        timer = undefined;
        handler(changes);
      }, 500);
    },
  };
  onMounted(() => {
    listeners.add(entry);
    open();
  });
  onUnmounted(() => {
    listeners.delete(entry);
    clearTimeout(timer);
  });
}

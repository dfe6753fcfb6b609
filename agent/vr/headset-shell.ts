import type { Adb } from '@yume-chan/adb';

/** What the headset reader needs of a headset: one shell command's output, bounded. */
export interface HeadsetShell {
  /**
   * Runs `command` and returns what it printed, at most `maxBytes` of it: the first bytes, or with
   * `keep: 'tail'` the last (crash records are printed oldest first, and the newest matter).
   */
  run(command: string, options: { maxBytes: number; keep?: 'head' | 'tail'; timeoutMs: number; signal: AbortSignal }): Promise<string>;
}

export class ShellTimeout extends Error {}

/** The shell over @yume-chan/adb's legacy ("none") protocol, which every Android since 4 answers. */
export function adbShell(adb: Adb): HeadsetShell {
  return {
    async run(command, { maxBytes, keep = 'head', timeoutMs, signal }) {
      const stop = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      // Opening waits for the headset's OKAY, which never comes from a headset that left: race it.
      const gone = adb.disconnected.then(() => Promise.reject(new Error('the headset disconnected')));
      const stopped = new Promise<never>((_, reject) => stop.addEventListener('abort', () => reject(new ShellTimeout(`\`${command}\` did not start within ${timeoutMs} ms`)), { once: true }));
      gone.catch(() => undefined);
      stopped.catch(() => undefined);
      const process = await Promise.race([adb.subprocess.noneProtocol.spawn(command, stop), gone, stopped]);
      const reader = process.output.getReader();
      const chunks: Uint8Array[] = [];
      let held = 0;
      const onAbort = (): void => void reader.cancel().catch(() => undefined);
      stop.addEventListener('abort', onAbort, { once: true });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (stop.aborted) throw new ShellTimeout(`\`${command}\` did not finish within ${timeoutMs} ms`);
          if (done) break;
          chunks.push(value);
          held += value.length;
          if (keep === 'head' && held >= maxBytes) break;
          // Tail: drop whole chunks from the front while the rest still holds maxBytes.
          while (keep === 'tail' && held - (chunks[0]?.length ?? 0) >= maxBytes) held -= chunks.shift()?.length ?? 0;
        }
      } finally {
        stop.removeEventListener('abort', onAbort);
        reader.releaseLock();
        await Promise.resolve(process.kill()).catch(() => undefined);
      }
      const bytes = Buffer.concat(chunks);
      return (keep === 'tail' ? bytes.subarray(Math.max(0, bytes.length - maxBytes)) : bytes.subarray(0, maxBytes)).toString('utf8');
    },
  };
}

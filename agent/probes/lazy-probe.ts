import type { ProbeSource } from '../../protocol/index.js';
import type { Probe } from './probe.js';

/**
 * A probe whose code is loaded at its first run: the other platforms' media probes stay out of a
 * Linux daemon's memory (and this platform's out of every command that never probes).
 */
export function lazyProbe(id: ProbeSource, load: () => Promise<Probe>): Probe {
  let loaded: Promise<Probe> | undefined;
  return {
    id,
    async run(context, signal) {
      loaded ??= load();
      return (await loaded).run(context, signal);
    },
  };
}

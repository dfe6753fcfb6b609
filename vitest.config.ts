import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['agent/**/*.test.ts', 'cloud/**/*.test.ts', 'protocol/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Most files wait on processes, brokers, databases and sockets rather than compute: on this
    // 2-core machine vitest's default (cores - 1 = one file at a time) left a core idle most of
    // the run. Files are independent (own ports, databases, brokers and state folders).
    maxWorkers: 3,
    sequence: { sequencer: SlowFirstSequencer },
  },
});

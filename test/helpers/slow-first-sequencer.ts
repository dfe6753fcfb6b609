import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest, as `.ci/run` last printed them (its "slowest test files"): started
 * first, so that on a fresh clone (no timings cached yet) the run does not end waiting for a long
 * file that happened to start last. A file missing here only runs later; update the list when the
 * print changes.
 */
export const SLOW_FILES = [
  'test/cloud/first-hour.test.ts',
  'test/measure/network-cli.test.ts',
  'test/cloud/people-cli.test.ts',
  'test/measure/network-impaired.test.ts',
  'test/console/console.test.ts',
  'test/session/remote-session-e2e.test.ts',
  'test/session/session-refusals-e2e.test.ts',
  'test/store/postgres-store.test.ts',
  'test/measure/room-chain.test.ts',
  'test/report-cli.test.ts',
  'test/measure/reflector-process.test.ts',
  'test/session/sessions-api.test.ts',
];

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification): number => {
      const index = SLOW_FILES.findIndex((slow) => file.moduleId.endsWith(`/${slow}`));
      return index === -1 ? SLOW_FILES.length : index;
    };
    // Array.prototype.sort is stable: the rest keeps the base sequencer's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

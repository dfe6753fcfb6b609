/**
 * The Node.js flags the agent's service runs with (install.sh writes them into ExecStart; a test
 * keeps the two equal, and bench:agent measures the daemon with them).
 *
 * - `--jitless`: the daemon wakes a few times a minute and its CPU is ~0.2 % of a core even when
 *   interpreted, so V8's compilers buy nothing; without them no memory is ever writable and
 *   executable, so the unit can set MemoryDenyWriteExecute=yes, and RSS drops ~10 MB.
 * - `--no-expose-wasm`: jitless has no WebAssembly; saying so keeps V8's warning out of the journal.
 * - `--max-semi-space-size=1`: a 1 MB young generation is plenty for a few messages per minute.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--jitless', '--no-expose-wasm', '--max-semi-space-size=1'];

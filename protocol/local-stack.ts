/**
 * `npm start` runs the cloud and this PC's agent side by side, the agent's state in the stack's
 * data folder. It leaves a note of that in the person's own state folder, so the PC-side commands
 * (`consent`, `doctor`, `test`, `report`, `probe`) find the agent it enrolled when there is no
 * installed one, instead of saying "not enrolled" right after `npm start` said it enrolled.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const localStackSchema = z.strictObject({
  version: z.literal(1),
  /** The agent's state directory (identity, outbox, control socket). */
  stateDir: z.string().min(1),
  cloudUrl: z.string().min(1),
  /** The `npm start` process, while it runs. */
  pid: z.number().int().positive(),
  startedAt: z.iso.datetime(),
});
export type LocalStack = z.infer<typeof localStackSchema>;

/** `$XDG_STATE_HOME/avcare/local-stack.json` (the person's own state folder, root's too). */
export function localStackFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'avcare', 'local-stack.json');
}

export function writeLocalStack(stack: LocalStack, env: NodeJS.ProcessEnv = process.env): string {
  const file = localStackFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(localStackSchema.parse(stack), null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** The note, or undefined when there is none (or it is not one: a damaged note only means nothing is known). */
export function readLocalStack(env: NodeJS.ProcessEnv = process.env): LocalStack | undefined {
  let text: string;
  try {
    text = readFileSync(localStackFile(env), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = localStackSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the `npm start` that wrote the note still runs. */
export function localStackRunning(stack: Pick<LocalStack, 'pid'>): boolean {
  try {
    process.kill(stack.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the note if it is still this process's (a later `npm start` may have written its own). */
export function forgetLocalStack(pid: number, env: NodeJS.ProcessEnv = process.env): void {
  if (readLocalStack(env)?.pid === pid) rmSync(localStackFile(env), { force: true });
}

/**
 * Commands the product prints must work as typed. In a clone, `avcare-cloud` and `avcare-agent` are
 * not on PATH: there `npx avcare-cloud ...` works from the clone's folder, and `node /path/...`
 * from anywhere. This names each of the two commands the way that works for the person reading.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative } from 'node:path';

export type AvcareBin = 'avcare-cloud' | 'avcare-agent';

/** Built, this file is in dist/protocol/ (two levels below the package root); as source, in protocol/. */
const PACKAGE_ROOT = basename(dirname(import.meta.dirname)) === 'dist' ? dirname(dirname(import.meta.dirname)) : dirname(import.meta.dirname);
const ENTRY: Record<AvcareBin, string> = { 'avcare-cloud': join(PACKAGE_ROOT, 'dist', 'cloud', 'cli.js'), 'avcare-agent': join(PACKAGE_ROOT, 'dist', 'agent', 'cli.js') };

const cache = new Map<string, string>();

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    // A dangling link or a file that went away is not this command.
    return false;
  }
}

/** How to type `bin` here: itself when PATH has this package's, `npx bin` inside the clone, else `node ENTRY`. */
export function runnableCommand(bin: AvcareBin, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const key = `${bin}\u0000${env.PATH ?? ''}\u0000${cwd}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  // Under `npx` (npm exec) PATH holds npm's own link to this bin, which the person cannot type without npx.
  const npmAddedPath = env.npm_command === 'exec';
  const onPath = !npmAddedPath && (env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, bin)) && samePath(join(dir, bin), ENTRY[bin]));
  const inside = !relative(PACKAGE_ROOT, cwd).startsWith('..');
  const command = onPath ? bin : inside && existsSync(join(PACKAGE_ROOT, 'package.json')) ? `npx ${bin}` : `node ${ENTRY[bin]}`;
  cache.set(key, command);
  return command;
}

/** The text with every `avcare-cloud SUBCOMMAND` / `avcare-agent SUBCOMMAND` written the way that works here. */
export function asTyped(text: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  return text.replace(/(?<![\w./-])(avcare-cloud|avcare-agent)(?= [a-z])/g, (bin) => runnableCommand(bin as AvcareBin, env, cwd));
}

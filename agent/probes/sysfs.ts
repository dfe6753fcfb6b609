import { readFile, realpath } from 'node:fs/promises';

/** sysfs and procfs files come and go with drivers and devices: absent is an answer (undefined), not an error. */
export async function whenPresent<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function readOptionalText(path: string): Promise<string | undefined> {
  return whenPresent(() => readFile(path, 'utf8'));
}

/** A virtual node (v4l2loopback) has no `device` link and an unbound device has no `driver`. */
export function resolveOptionalLink(path: string): Promise<string | undefined> {
  return whenPresent(() => realpath(path));
}

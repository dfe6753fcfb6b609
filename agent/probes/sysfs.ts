import { readFile, realpath } from 'node:fs/promises';

/** sysfs and procfs files come and go with drivers and devices: absent is an answer, not an error. */
export async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A virtual node (v4l2loopback) has no `device` link and an unbound device has no `driver`. */
export async function resolveOptionalLink(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asTyped, runnableCommand } from './runnable-command.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLOUD_ENTRY = join(ROOT, 'dist', 'cloud', 'cli.js');

describe('commands printed as they run here', () => {
  it('names the command itself when PATH has this package\'s', () => {
    const bin = mkdtempSync(join(tmpdir(), 'avcare-bin-'));
    symlinkSync(CLOUD_ENTRY, join(bin, 'avcare-cloud'));
    expect(runnableCommand('avcare-cloud', { PATH: `${bin}:/usr/bin` }, tmpdir())).toBe('avcare-cloud');
  });

  it('says npx inside a clone without the command on PATH (and under npx itself), and node with the path elsewhere', () => {
    expect(runnableCommand('avcare-cloud', { PATH: '/usr/bin' }, ROOT)).toBe('npx avcare-cloud');
    expect(runnableCommand('avcare-agent', { PATH: '/usr/bin' }, join(ROOT, 'agent'))).toBe('npx avcare-agent');
    const bin = mkdtempSync(join(tmpdir(), 'avcare-npx-bin-'));
    symlinkSync(CLOUD_ENTRY, join(bin, 'avcare-cloud'));
    expect(runnableCommand('avcare-cloud', { PATH: bin, npm_command: 'exec' }, ROOT)).toBe('npx avcare-cloud');
    expect(runnableCommand('avcare-cloud', { PATH: '/usr/bin' }, dirname(ROOT))).toBe(`node ${CLOUD_ENTRY}`);
  });

  it('rewrites the commands a message names, and nothing that only looks like one', () => {
    const text = 'sign in first: `avcare-cloud login --url URL`; then avcare-agent enroll; the avcare-agent.service unit; sudo systemctl restart avcare-agent';
    expect(asTyped(text, { PATH: '/usr/bin' }, ROOT)).toBe(
      'sign in first: `npx avcare-cloud login --url URL`; then npx avcare-agent enroll; the avcare-agent.service unit; sudo systemctl restart avcare-agent',
    );
  });
});

import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../protocol/log.js';
import { formatLogRecord, readRecentLog, RecentLog, recentLogFile } from './recent-log.js';

function stateDir(): string {
  return mkdtempSync(join(tmpdir(), 'avcare-recent-log-'));
}

function collect(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('formatLogRecord', () => {
  it('turns a pino record into one readable line with its fields, errors as their message', () => {
    const line = formatLogRecord(JSON.stringify({ level: 40, time: Date.parse('2026-11-23T08:00:00Z'), pid: 7, hostname: 'pc', module: 'mqtt-transport', url: 'mqtt://cloud:1883', err: { type: 'Error', message: 'connect ECONNREFUSED', stack: 'Error: ...\n at x' }, msg: 'broker connection failed' }));
    expect(line).toBe('2026-11-23T08:00:00.000Z WARN mqtt-transport: broker connection failed url=mqtt://cloud:1883 err="Error: connect ECONNREFUSED"');
  });

  it('skips debug records and anything that is not a record', () => {
    expect(formatLogRecord(JSON.stringify({ level: 20, time: 0, msg: 'retrying' }))).toBeUndefined();
    expect(formatLogRecord('not json')).toBeUndefined();
    expect(formatLogRecord('42')).toBeUndefined();
  });
});

describe('RecentLog', () => {
  it('keeps a bounded ring in memory, oldest first', () => {
    const recent = new RecentLog({ capacity: 3 });
    for (const n of [1, 2, 3, 4, 5]) recent.add(`line ${n}`);
    expect(recent.excerpt(10)).toEqual(['line 3', 'line 4', 'line 5']);
    expect(recent.excerpt(2)).toEqual(['line 4', 'line 5']);
  });

  it('scrubs secrets before a line is kept in memory or on disk, and caps its length on one line', () => {
    const file = recentLogFile(stateDir());
    const recent = new RecentLog({ file, knownSecrets: ['classroom42'] });
    recent.add('pjlink auth with classroom42 failed, broker mqtt://u:hunter2@cloud password=hunter2');
    recent.add(`multi\nline ${'x'.repeat(1000)}`);
    const onDisk = readFileSync(file, 'utf8');
    expect(onDisk).not.toMatch(/classroom42|hunter2/);
    expect(onDisk.split('\n').filter(Boolean)).toHaveLength(2);
    const [first, second] = recent.excerpt();
    expect(first).toBe('pjlink auth with [redacted] failed, broker mqtt://[redacted]@cloud password=[redacted]');
    expect(second?.startsWith('multi line xxx')).toBe(true);
    expect(second?.length).toBe(500);
  });

  it('shares its lines through the file: another process reads what the daemon logged, and adds its own after them', () => {
    const file = recentLogFile(stateDir());
    const daemon = new RecentLog({ file });
    daemon.add('daemon 1');
    daemon.add('daemon 2');
    const report = new RecentLog({ file });
    report.add('report 1');
    expect(report.excerpt()).toEqual(['daemon 1', 'daemon 2', 'report 1']);
    expect(daemon.excerpt(2)).toEqual(['daemon 2', 'report 1']);
  });

  it('rotates the file at its size bound, keeping one older file, so the disk holds at most two', () => {
    const file = recentLogFile(stateDir());
    // ~22 lines a file: the older file alone holds more than the excerpt asks for.
    const recent = new RecentLog({ file, rotateBytes: 2000 });
    for (let i = 0; i < 100; i++) recent.add(`line ${i} ${'y'.repeat(80)}`);
    expect(statSync(file).size).toBeLessThanOrEqual(2000);
    expect(statSync(`${file}.1`).size).toBeLessThanOrEqual(2000);
    const excerpt = readRecentLog(file, 15);
    expect(excerpt).toHaveLength(15);
    expect(excerpt.at(-1)?.startsWith('line 99 ')).toBe(true);
    expect(excerpt.map((line) => Number(line.split(' ')[1]))).toEqual(Array.from({ length: 15 }, (_, i) => 85 + i));
  });

  it('scrubs lines another process wrote unscrubbed when it reads them', () => {
    const file = recentLogFile(stateDir());
    writeFileSync(file, 'old agent: connecting with password=hunter2 to mqtt://a:classroom42@cloud\n');
    expect(new RecentLog({ file, knownSecrets: ['classroom42'] }).excerpt()).toEqual(['old agent: connecting with password=[redacted] to mqtt://[redacted]@cloud']);
  });

  it('falls back to memory, and says so once, when the file cannot be written', async () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'not-a-dir'), '');
    const errors: Error[] = [];
    const recent = new RecentLog({ file: join(dir, 'not-a-dir', 'recent.log'), onPersistError: (error) => errors.push(error) });
    recent.add('one');
    recent.add('two');
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveLength(1);
    expect(recent.excerpt()).toEqual(['one', 'two']);
  });

  it('gets info lines from a logger whose console shows only warnings, with pino redaction applied', () => {
    const console = collect();
    const file = recentLogFile(stateDir());
    const recent = new RecentLog({ file });
    const log = createLogger({ level: 'warn', destination: console.stream, recent }).child({ module: 'cycle' });
    log.debug('too chatty');
    log.info({ config: { pjlink: [{ host: '10.0.0.5', password: 'classroom42' }] } }, 'probing');
    log.warn('usb unavailable');
    expect(recent.excerpt().map((line) => line.replace(/^\S+ /, ''))).toEqual([
      'INFO cycle: probing config={"pjlink":[{"host":"10.0.0.5","password":"[redacted]"}]}',
      'WARN cycle: usb unavailable',
    ]);
    expect(console.text()).toContain('usb unavailable');
    expect(console.text()).not.toContain('probing');
    expect(existsSync(file)).toBe(true);
  });

  it('keeps info lines even when the console is silent', () => {
    const recent = new RecentLog();
    const console = collect();
    createLogger({ level: 'silent', destination: console.stream, recent }).info('agent started');
    expect(recent.excerpt()).toHaveLength(1);
    expect(console.text()).toBe('');
  });
});

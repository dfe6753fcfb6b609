import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionRequestPayload } from '../../protocol/remote-session.js';
import { sessionRequest } from '../../test/helpers/session-request.js';
import { readNoticeBoard } from './consent-command.js';
import { ConsentStore } from './consent-store.js';

const minutesFromNow = (minutes: number): string => new Date(Date.now() + minutes * 60_000).toISOString();

const request = (): SessionRequestPayload => sessionRequest({ reason: 'the front camera shows nothing', scopes: ['reprobe', 'camera-snapshot'] });

describe("the Windows notice board: pending requests where a teacher's session can read them", () => {
  it('holds exactly the requests waiting for an answer, as consent list shows them; answered ones leave it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-board-'));
    const board = join(dir, 'requests.json');
    const store = ConsentStore.open(join(dir, 'sessions.json'), { noticeBoard: board });
    const asked = request();
    store.recordRequest(asked);
    const posted = JSON.parse(readFileSync(board, 'utf8')) as Array<Record<string, unknown>>;
    expect(posted).toEqual([expect.objectContaining({ sessionId: asked.sessionId, state: 'pending', engineer: 'engineer-wang', team: 'east', reason: 'the front camera shows nothing', privacyScopes: ['camera-snapshot'] })]);
    // The board carries what a notice shows, never the request's nonce or signature.
    expect(JSON.stringify(posted)).not.toContain(asked.nonce);
    store.deny(asked.sessionId, 'pc:teacher', new Date());
    expect(JSON.parse(readFileSync(board, 'utf8'))).toEqual([]);
  });

  it('a board that cannot be written costs the notice, never the record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-board-'));
    const store = ConsentStore.open(join(dir, 'sessions.json'), { noticeBoard: join(dir, 'missing-folder', 'requests.json') });
    const asked = request();
    expect(store.recordRequest(asked)).toBe(true);
    expect(ConsentStore.open(join(dir, 'sessions.json')).get(asked.sessionId, new Date())?.effectiveState).toBe('pending');
  });

  it('the watcher reads the board, leaving out requests whose time to answer has passed, and anything that is not a request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-board-'));
    const board = join(dir, 'requests.json');
    writeFileSync(board, JSON.stringify([{ sessionId: 'a', answerBy: minutesFromNow(5) }, { sessionId: 'b', answerBy: minutesFromNow(-1) }, 'garbage', { sessionId: 'c' }]));
    expect((await readNoticeBoard(board, new Date())).map((entry) => entry['sessionId'])).toEqual(['a']);
    writeFileSync(board, '{"not":"a list"}');
    expect(await readNoticeBoard(board, new Date())).toEqual([]);
  });
});

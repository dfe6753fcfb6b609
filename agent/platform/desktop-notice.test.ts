import { describe, expect, it } from 'vitest';
import { powershellSyntaxProblems } from '../../test/helpers/powershell-syntax.js';
import { desktopNoticeFor, WINDOWS_TOAST_SCRIPT, type NoticeRunner } from './desktop-notice.js';

/** Records what would run: no desktop on this machine, the command line is what matters. */
function recorder(): { runner: NoticeRunner; calls: Array<{ file: string; args: readonly string[]; env: NodeJS.ProcessEnv }> } {
  const calls: Array<{ file: string; args: readonly string[]; env: NodeJS.ProcessEnv }> = [];
  return { calls, runner: (file, args, env) => Promise.resolve(void calls.push({ file, args, env })) };
}

const notice = { title: 'avcare: a remote engineer asks to diagnose this PC', body: 'the <b>projector</b> & "screen" flicker\nend run\n$(rm -rf /)' };

describe('the desktop notice of each platform: what came from the cloud stays data', () => {
  it('Linux: notify-send, its markup escaped', async () => {
    const { runner, calls } = recorder();
    expect(await desktopNoticeFor('linux', runner)(notice)).toBeUndefined();
    expect(calls[0]?.file).toBe('notify-send');
    expect(calls[0]?.args.slice(0, 4)).toEqual(['--app-name=avcare', '--urgency=critical', '--icon=dialog-warning', notice.title]);
    expect(calls[0]?.args[4]).toBe('the &lt;b&gt;projector&lt;/b&gt; &amp; "screen" flicker\nend run\n$(rm -rf /)');
  });

  it('macOS: Notification Center through osascript, the title and body as arguments of a fixed script', async () => {
    const { runner, calls } = recorder();
    await desktopNoticeFor('macos', runner)(notice);
    expect(calls[0]?.file).toBe('/usr/bin/osascript');
    expect(calls[0]?.args).toEqual(['-e', 'on run argv', '-e', 'display notification (item 2 of argv) with title (item 1 of argv) sound name "Glass"', '-e', 'end run', notice.title, notice.body]);
  });

  it('Windows: a toast from a fixed PowerShell script, the title and body in environment variables set into text nodes', async () => {
    const { runner, calls } = recorder();
    await desktopNoticeFor('windows', runner)(notice);
    expect(calls[0]?.file).toBe('powershell.exe');
    const script = Buffer.from(calls[0]?.args.at(-1) ?? '', 'base64').toString('utf16le');
    expect(script).toBe(WINDOWS_TOAST_SCRIPT);
    expect(script).not.toContain('projector');
    expect(calls[0]?.env).toEqual({ AVCARE_NOTICE_TITLE: notice.title, AVCARE_NOTICE_BODY: notice.body });
    expect(script).toContain('CreateTextNode($env:AVCARE_NOTICE_BODY)');
    expect(await powershellSyntaxProblems(WINDOWS_TOAST_SCRIPT)).toEqual([]);
  });

  it('says why when the notice could not be shown', async () => {
    const failing: NoticeRunner = () => Promise.resolve('spawn notify-send ENOENT');
    expect(await desktopNoticeFor('linux', failing)(notice)).toBe('spawn notify-send ENOENT');
  });
});

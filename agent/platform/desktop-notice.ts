/**
 * A notification on the desktop of the person signed in at the PC (a remote session request),
 * shown by the system's own means: notify-send on Linux, Notification Center through osascript on
 * macOS, a toast through PowerShell on Windows. What came from the cloud is passed as data, never
 * as markup or code: escaped for notify-send's markup, arguments to AppleScript, environment
 * variables read into text nodes on Windows.
 */
import { execFile } from 'node:child_process';
import type { PlatformId } from './platform-types.js';

export interface Notice {
  title: string;
  body: string;
}

/** Shows the notice; resolves with why it could not, or undefined. */
export type DesktopNotice = (notice: Notice) => Promise<string | undefined>;

/** Runs a program the way the notices do (tests give their own). */
export type NoticeRunner = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => Promise<string | undefined>;

const run: NoticeRunner = (file, args, env) =>
  new Promise((resolve) => {
    execFile(file, [...args], { timeout: 10_000, env: { ...process.env, ...env }, windowsHide: true }, (error) => resolve(error ? error.message : undefined));
  });

/** notify-send bodies take a little markup: what came from the cloud is shown as text, never as markup. */
export function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The title and body arrive as argv: AppleScript never parses them as code. */
const APPLESCRIPT = ['-e', 'on run argv', '-e', 'display notification (item 2 of argv) with title (item 1 of argv) sound name "Glass"', '-e', 'end run'];

/**
 * A Windows toast as PowerShell's own application (the WinRT type loaded by its assembly-qualified
 * name), the title and body from environment variables set into text nodes (never into the XML's source).
 */
export const WINDOWS_TOAST_SCRIPT = `$null = [Type]::GetType('Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType=WindowsRuntime')
$template = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)
$texts = $template.GetElementsByTagName('text')
$null = $texts.Item(0).AppendChild($template.CreateTextNode($env:AVCARE_NOTICE_TITLE))
$null = $texts.Item(1).AppendChild($template.CreateTextNode($env:AVCARE_NOTICE_BODY))
$toast = New-Object Windows.UI.Notifications.ToastNotification $template
[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\\WindowsPowerShell\\v1.0\\powershell.exe').Show($toast)
`;

export function desktopNoticeFor(platform: PlatformId, runner: NoticeRunner = run): DesktopNotice {
  switch (platform) {
    case 'macos':
      return (notice) => runner('/usr/bin/osascript', [...APPLESCRIPT, notice.title, notice.body], {});
    case 'windows':
      return (notice) =>
        runner('powershell.exe', ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(WINDOWS_TOAST_SCRIPT, 'utf16le').toString('base64')], {
          AVCARE_NOTICE_TITLE: notice.title,
          AVCARE_NOTICE_BODY: notice.body,
        });
    case 'linux':
      return (notice) => runner('notify-send', ['--app-name=avcare', '--urgency=critical', '--icon=dialog-warning', notice.title, escapeMarkup(notice.body)], {});
  }
}

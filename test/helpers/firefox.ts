/**
 * Debian's Firefox ESR for the console's cross-browser check, driven over WebDriver BiDi (built
 * into Firefox; playwright-core drives only its own patched Firefox). Just enough of the protocol
 * to open a page, run script in it and read the answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from './free-port.js';

export const FIREFOX = process.env.AVCARE_FIREFOX ?? '/usr/bin/firefox-esr';

export interface FirefoxPage {
  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  navigate(url: string): Promise<void>;
  close(): Promise<void>;
}

export async function openFirefox(options: { locale?: string; width?: number; height?: number } = {}): Promise<FirefoxPage> {
  if (!existsSync(FIREFOX)) throw new Error(`no Firefox at ${FIREFOX}: install Debian's firefox-esr (sudo apt-get install firefox-esr; .ci/run does it), or point AVCARE_FIREFOX at one`);
  const profile = mkdtempSync(join(tmpdir(), 'avcare-firefox-'));
  // Closed network: no updates, telemetry or first-run pages; the page's language as asked.
  writeFileSync(
    join(profile, 'user.js'),
    [
      `user_pref("intl.accept_languages", "${options.locale ?? 'en-US'}");`,
      'user_pref("app.update.enabled", false);',
      'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
      'user_pref("toolkit.telemetry.enabled", false);',
      'user_pref("browser.shell.checkDefaultBrowser", false);',
      'user_pref("remote.prefs.recommended", true);',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(FIREFOX, ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port', String(port), `--window-size=${options.width ?? 1280},${options.height ?? 900}`, 'about:blank'], { stdio: 'ignore' });
  const socket = await connect(`ws://127.0.0.1:${port}/session`, 20_000);
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data: WebSocket.RawData) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    const message = JSON.parse(text) as { id?: number; type?: string; result?: unknown; error?: string; message?: string };
    if (message.id === undefined) return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'error') waiting?.reject(new Error(`${message.error ?? 'error'}: ${message.message ?? ''}`));
    else waiting?.resolve(message.result);
  });
  const send = <T>(method: string, params: object): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: (value) => resolve(value as T), reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send('session.new', { capabilities: {} });
  const tree = await send<{ contexts: Array<{ context: string }> }>('browsingContext.getTree', {});
  const context = tree.contexts[0]?.context ?? '';
  // Headless Firefox ignores --window-size for the page: the viewport is set through the protocol.
  await send('browsingContext.setViewport', { context, viewport: { width: options.width ?? 1280, height: options.height ?? 900 } });
  return {
    async navigate(url) {
      await send('browsingContext.navigate', { context, url, wait: 'complete' });
    },
    async evaluate<T>(expression: string): Promise<T> {
      const answer = await send<{ type: string; result?: unknown; exceptionDetails?: { text?: string } }>('script.evaluate', { expression: `(async () => JSON.stringify(await (${expression})))()`, target: { context }, awaitPromise: true });
      if (answer.type === 'exception') throw new Error(`the page threw: ${answer.exceptionDetails?.text ?? '?'}`);
      const value = (answer.result as { type: string; value?: string } | undefined)?.value;
      return (value === undefined ? undefined : JSON.parse(value)) as T;
    },
    async close() {
      await send('session.end', {}).catch(() => undefined);
      socket.close();
      child.kill('SIGKILL');
    },
  };
}

/** Firefox opens its remote port a moment after it starts: try until it answers. */
async function connect(url: string, timeoutMs: number): Promise<WebSocket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(url);
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Firefox's WebDriver BiDi port did not answer within ${timeoutMs} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

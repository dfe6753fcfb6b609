/**
 * The media source on Windows: the camera, image, audio endpoint and media devices from Plug and
 * Play (PowerShell's Get-PnpDevice as JSON), and the camera and microphone privacy switches from
 * the registry (reg.exe), read by the same code that reads what a Windows user pastes.
 */
import { AvcareError, type MediaPrivacy } from '../../../protocol/index.js';
import type { Probe, ProbeFindings } from '../../probes/probe.js';
import { commandRunner, type RunCommand } from '../../probes/run-command.js';
import { CORE_AUDIO_POWERSHELL, readCaptureAnswers } from './core-audio.js';
import { pnpDevices, readPnpJson } from './pnp-devices.js';
import { readPrivacySettings } from './privacy-settings.js';

/**
 * UTF-8 out, whatever the console's code page (GBK on a Chinese Windows would garble device
 * names); only present devices of the AV classes; the problem code as a number (PowerShell 5.1);
 * then the default recording device's mute and level (core-audio.ts), both in one JSON object so
 * one PowerShell start (a second of CPU) serves the cycle.
 */
export const MEDIA_SCRIPT = `[Console]::OutputEncoding = [Text.Encoding]::UTF8
$pnp = @(Get-PnpDevice -PresentOnly -Class 'Camera','Image','AudioEndpoint','MEDIA' -ErrorAction SilentlyContinue | Select-Object 'Status','Class','FriendlyName','InstanceId','Problem','Present','Service','Manufacturer')
${CORE_AUDIO_POWERSHELL}
@{ pnp = $pnp; capture = $capture } | ConvertTo-Json -Compress -Depth 4
`;

/** PowerShell 5.1 mangles double quotes in a -Command argument; an encoded command (UTF-16 LE, base64) arrives whole. */
export const MEDIA_COMMAND = ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(MEDIA_SCRIPT, 'utf16le').toString('base64')];

const CONSENT_STORE = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\CapabilityAccessManager\\ConsentStore';
const APP_PRIVACY_POLICY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\AppPrivacy';

export interface WindowsMediaProbeOptions {
  runCommand?: RunCommand;
}

export function createWindowsMediaProbe(options: WindowsMediaProbeOptions = {}): Probe {
  // PowerShell takes a second or two to start, Get-PnpDevice a few more on a busy PC.
  const run = options.runCommand ?? commandRunner(8000);
  return {
    id: 'media',
    async run(context, signal): Promise<ProbeFindings> {
      const answer = await run('powershell.exe', MEDIA_COMMAND, signal);
      if (answer.status === 'not-installed') {
        return { state: 'unavailable', reason: 'Windows PowerShell (powershell.exe) is not on this PC, so its devices cannot be listed', reasonKey: 'sourceReason.noPowerShell', devices: [] };
      }
      if (answer.status === 'failed') throw new AvcareError('PROBE_FAILED', `Get-PnpDevice failed: ${answer.reason}`);
      let json: unknown;
      try {
        json = JSON.parse(answer.stdout.replace(/^\uFEFF/, ''));
      } catch (error) {
        throw new AvcareError('PROBE_FAILED', `Get-PnpDevice printed something that is not JSON: ${(error as Error).message}`, { output: answer.stdout.slice(0, 200) });
      }
      const { pnp, capture } = (typeof json === 'object' && json !== null ? json : {}) as { pnp?: unknown; capture?: unknown };
      if (!Array.isArray(pnp) || !Array.isArray(capture)) throw new AvcareError('PROBE_FAILED', 'the media query answered without its "pnp" and "capture" lists', { output: answer.stdout.slice(0, 200) });
      const findings: ProbeFindings = { state: 'ok', devices: pnpDevices(readPnpJson(pnp) ?? []) };
      try {
        findings.recording = readCaptureAnswers(capture);
      } catch (error) {
        // The devices stand; only the recording level is unknown, and the log says why.
        context.log.warn({ reason: (error as Error).message }, 'default recording device not read');
      }
      const privacy = await readPrivacy(run, signal);
      if (privacy) findings.privacy = privacy;
      return findings;
    },
  };
}

/**
 * The switches for the PC (HKLM), its policy, and each signed-in person: the service runs as its
 * own account, so the teachers' settings are under HKEY_USERS by their SID, not HKCU.
 */
async function readPrivacy(run: RunCommand, signal: AbortSignal): Promise<MediaPrivacy | null> {
  const query = async (...args: string[]): Promise<string> => {
    const output = await run('reg.exe', ['query', ...args], signal);
    // A key that does not exist is reg's exit code 1: nothing set there, which is an answer.
    return output.status === 'ok' ? output.stdout : '';
  };
  const users = [...(await query('HKU')).matchAll(/^HKEY_USERS\\(S-1-5-21-[\d-]+)\s*$/gm)].map((match) => match[1] ?? '');
  const outputs = await Promise.all([
    query(`HKLM\\${CONSENT_STORE}\\webcam`),
    query(`HKLM\\${CONSENT_STORE}\\microphone`),
    query(APP_PRIVACY_POLICY),
    ...users.flatMap((sid) => [query(`HKU\\${sid}\\${CONSENT_STORE}\\webcam`, '/s'), query(`HKU\\${sid}\\${CONSENT_STORE}\\microphone`, '/s')]),
  ]);
  return readPrivacySettings(outputs.join('\r\n\r\n'));
}

/**
 * The default recording device's mute and level, from Windows' Core Audio API: PowerShell has no
 * command for it, so a few COM declarations are compiled once (Add-Type into the service's temp
 * folder, then loaded from there on later cycles: compiling every cycle would cost a second of CPU)
 * and asked for the default capture endpoint of each role.
 */
import type { RecordingEndpoint } from '../../../protocol/index.js';

/** Bump when the C# below changes, so a PC does not load the older compiled copy. */
const ASSEMBLY_VERSION = 1;

/** IMMDeviceEnumerator, IMMDevice and IAudioEndpointVolume, declared up to the methods used (vtable order matters). */
const CORE_AUDIO_CSHARP = `
using System;
using System.Runtime.InteropServices;
namespace AvcareCoreAudio {
  [ComImport, Guid("5CDF2C82-841E-4546-9722-0CF74078229A"), InterfaceType(ComInterfaceType.InterfaceIsIUnknown)]
  interface IAudioEndpointVolume {
    [PreserveSig] int RegisterControlChangeNotify(IntPtr notify);
    [PreserveSig] int UnregisterControlChangeNotify(IntPtr notify);
    [PreserveSig] int GetChannelCount(out uint count);
    [PreserveSig] int SetMasterVolumeLevel(float levelDb, ref Guid context);
    [PreserveSig] int SetMasterVolumeLevelScalar(float level, ref Guid context);
    [PreserveSig] int GetMasterVolumeLevel(out float levelDb);
    [PreserveSig] int GetMasterVolumeLevelScalar(out float level);
    [PreserveSig] int SetChannelVolumeLevel(uint channel, float levelDb, ref Guid context);
    [PreserveSig] int SetChannelVolumeLevelScalar(uint channel, float level, ref Guid context);
    [PreserveSig] int GetChannelVolumeLevel(uint channel, out float levelDb);
    [PreserveSig] int GetChannelVolumeLevelScalar(uint channel, out float level);
    [PreserveSig] int SetMute([MarshalAs(UnmanagedType.Bool)] bool mute, ref Guid context);
    [PreserveSig] int GetMute([MarshalAs(UnmanagedType.Bool)] out bool mute);
  }
  [ComImport, Guid("D666063F-1587-4E43-81F1-B948E807363F"), InterfaceType(ComInterfaceType.InterfaceIsIUnknown)]
  interface IMMDevice {
    [PreserveSig] int Activate(ref Guid iid, int context, IntPtr parameters, [MarshalAs(UnmanagedType.IUnknown)] out object endpoint);
    [PreserveSig] int OpenPropertyStore(int access, out IntPtr store);
    [PreserveSig] int GetId([MarshalAs(UnmanagedType.LPWStr)] out string id);
  }
  [ComImport, Guid("A95664D2-9614-4F35-A746-DE8DB63617E6"), InterfaceType(ComInterfaceType.InterfaceIsIUnknown)]
  interface IMMDeviceEnumerator {
    [PreserveSig] int EnumAudioEndpoints(int flow, int mask, out IntPtr devices);
    [PreserveSig] int GetDefaultAudioEndpoint(int flow, int role, out IMMDevice device);
  }
  [ComImport, Guid("BCDE0395-E52F-467C-8E3D-C4579291692E")] class MMDeviceEnumerator { }
  public static class Capture {
    // flow 1 = eCapture; role 0 = eConsole, 2 = eCommunications. An empty string: no such device.
    public static string Default(int role) {
      var enumerator = (IMMDeviceEnumerator)new MMDeviceEnumerator();
      IMMDevice device;
      if (enumerator.GetDefaultAudioEndpoint(1, role, out device) != 0 || device == null) return "";
      string id;
      Marshal.ThrowExceptionForHR(device.GetId(out id));
      var iid = typeof(IAudioEndpointVolume).GUID;
      object activated;
      Marshal.ThrowExceptionForHR(device.Activate(ref iid, 23, IntPtr.Zero, out activated));
      var volume = (IAudioEndpointVolume)activated;
      bool mute; float level;
      Marshal.ThrowExceptionForHR(volume.GetMute(out mute));
      Marshal.ThrowExceptionForHR(volume.GetMasterVolumeLevelScalar(out level));
      return id + "|" + (mute ? "1" : "0") + "|" + level.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
  }
}
`;

/**
 * PowerShell that leaves `$capture` holding "id|mute|level" for the console and communications
 * roles (an empty string for a role with no device, the error's text when Core Audio fails).
 */
export const CORE_AUDIO_POWERSHELL = `
$dll = Join-Path $env:TEMP 'avcare-core-audio-${ASSEMBLY_VERSION}.dll'
$capture = @()
try {
  if (-not (Test-Path $dll)) { Add-Type -TypeDefinition @'
${CORE_AUDIO_CSHARP}
'@ -OutputAssembly $dll -OutputType Library }
  Add-Type -Path $dll
  $capture = @([AvcareCoreAudio.Capture]::Default(0), [AvcareCoreAudio.Capture]::Default(2))
} catch { $capture = @('error: ' + $_.Exception.Message) }
`;

/**
 * The answers for the two roles as endpoints: one entry per device (a device that is the default
 * for both roles is one entry with both), none when there is no recording device. Throws on
 * Core Audio's error text or an answer it cannot read, so the source reports why.
 */
export function readCaptureAnswers(answers: readonly unknown[]): RecordingEndpoint[] {
  const roles = ['console', 'communications'] as const;
  const endpoints: RecordingEndpoint[] = [];
  answers.slice(0, 2).forEach((answer, index) => {
    if (typeof answer !== 'string') throw new Error(`the default recording device's answer is not text: ${JSON.stringify(answer)?.slice(0, 100)}`);
    if (answer === '') return;
    if (answer.startsWith('error: ')) throw new Error(`Core Audio could not be asked for the default recording device: ${answer.slice(7, 300)}`);
    const match = /^(\{[0-9.]+\}\.\{[0-9a-f-]{36}\})\|([01])\|(\d+(?:\.\d+)?(?:E-?\d+)?)$/i.exec(answer);
    if (!match?.[1] || !match[3]) throw new Error(`the default recording device's answer is not "id|mute|level": ${answer.slice(0, 100)}`);
    const role = roles[index] ?? 'console';
    const known = endpoints.find((endpoint) => endpoint.endpointId === match[1]);
    if (known) {
      known.roles.push(role);
      return;
    }
    endpoints.push({ endpointId: match[1], roles: [role], muted: match[2] === '1', levelPercent: Math.round(Math.min(1, Math.max(0, Number(match[3]))) * 100) });
  });
  return endpoints;
}

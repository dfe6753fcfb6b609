import type { FaultCode, PjlinkPart } from './fault-codes.js';

/**
 * What an IT teacher can try before waiting for an engineer, per fault code: the knowledge base's
 * fixed part (resolution notes from engineers add to it in the cloud). Shown by `avcare-agent
 * probe` next to a fault and on the ticket. Typed over every code, so a new code without advice
 * does not compile.
 */
export const SELF_HELP: Readonly<Record<FaultCode, readonly string[]>> = {
  DEVICE_MISSING: [
    'Check that the device is plugged in and its cable is seated at both ends; try another USB port on the PC (not a front-panel or unpowered hub port).',
    'If it has its own power supply, check that it is switched on.',
    'If the device was moved to another room on purpose, tell your service provider so the room stops expecting it.',
  ],
  CAMERA_NO_VIDEO_NODE: [
    'Unplug the camera, wait 10 seconds and plug it into a USB port directly on the PC.',
    'Close any program that may hold the camera (video meeting, recording software) and run `avcare-agent probe` again.',
    'Restart the PC; if the camera still has no video device, its driver or firmware needs an engineer.',
  ],
  MICROPHONE_NO_CAPTURE: [
    'Unplug the microphone or speakerphone, wait 10 seconds and plug it in again, directly on the PC.',
    'Restart the PC; if it still shows no recording device, the driver needs an engineer.',
  ],
  MICROPHONE_MUTED: [
    'Press the mute button on the microphone or speakerphone (its light usually turns from red to green or white).',
    'Open the sound settings of the PC and unmute the recording device; check its level is above zero.',
  ],
  TOUCH_NO_INPUT: [
    'Unplug the touch panel\'s USB cable (the one labelled TOUCH on the panel, not HDMI), wait 10 seconds and plug it into a USB port on the PC itself, not a hub or the front panel.',
    'On a panel with a built-in PC (OPS), switch the panel\'s touch output to the source you are using in its menu (Touch: HDMI1/OPS).',
    'If it still does not respond, restart the PC; if that does not help, the panel\'s touch driver needs an engineer.',
  ],
  DEVICE_UNSTABLE_CONNECTION: [
    'Check the USB cable at both ends: a loose or damaged cable is the usual cause. Replace it with a shorter one if you can.',
    'Plug the device into a USB port on the PC itself, not a hub, a front panel port or an extension cable.',
    'If it keeps dropping on a good cable and port, the device or its USB port needs an engineer.',
  ],
  MICROPHONE_LEVEL_ZERO: [
    'Right-click the speaker icon by the clock, open Sound settings, choose the microphone under Input and raise its volume (70 to 100 is usual for a classroom).',
    'If the level falls back to zero by itself, a meeting program is adjusting it: turn off its "automatically adjust microphone volume" option.',
  ],
  CAMERA_HELD_BY_APP: [
    'Close the program named in the message (also from the notification area by the clock); if it will not close, end it in Task Manager.',
    'If that program is the school\'s lecture recorder and should hold the camera, ask your service provider to list it in cameraHoldersExpected.',
  ],
  CAMERA_BLOCKED_BY_PRIVACY: [
    'Open Settings > Privacy & security > Camera (Windows 10: Settings > Privacy > Camera) and turn on "Camera access", "Let apps access your camera" and "Let desktop apps access your camera".',
    'If the switches are greyed out, a school policy sets them: ask your service provider or the school\'s IT administrator to allow the camera.',
    'On a Mac: open System Settings > Privacy & Security > Camera and turn on the program named in the message, then quit and reopen it.',
  ],
  MICROPHONE_BLOCKED_BY_PRIVACY: [
    'Open Settings > Privacy & security > Microphone (Windows 10: Settings > Privacy > Microphone) and turn on "Microphone access", "Let apps access your microphone" and "Let desktop apps access your microphone".',
    'If the switches are greyed out, a school policy sets them: ask your service provider or the school\'s IT administrator to allow the microphone.',
    'On a Mac: open System Settings > Privacy & Security > Microphone and turn on the program named in the message, then quit and reopen it.',
  ],
  WINDOWS_DEVICE_DISABLED: [
    'Open Device Manager (right-click the Start button > Device Manager), find the device (a down arrow marks it), right-click it and choose Enable device.',
    'If it is disabled again after a restart, a school policy or another program disables it: tell your service provider.',
  ],
  WINDOWS_DRIVER_MISSING: [
    'Unplug the device and plug it into another USB port on the PC itself; Windows then looks for its driver again.',
    'In Device Manager, right-click the device (a yellow mark) > Update driver > Search automatically; if the PC has no internet, your service provider installs the driver.',
  ],
  WINDOWS_DEVICE_NOT_STARTED: [
    'Unplug the device, wait ten seconds and plug it in again, into a USB port on the PC itself rather than a hub or the front panel.',
    'Restart the PC; if Device Manager still shows the yellow mark, the device or its driver needs an engineer (the code in the message tells them which).',
  ],
  VR_ADB_NOT_AUTHORIZED: [
    'Put the headset on: a dialog "Allow USB debugging?" is waiting. Tick "Always allow from this computer" and press Allow (OK).',
    'No dialog? Unplug the headset\'s USB cable and plug it in again while wearing it; on Quest, Developer Mode must be on in the Meta Horizon app.',
  ],
  VR_BATTERY_LOW: [
    'Put the headset on its charger now; a class needs about 80% for a 45-minute lesson.',
    'Check that the charging cart is switched on and the headset\'s cable is seated: the light on the headset shows it is charging.',
  ],
  VR_CONTROLLER_DISCONNECTED: [
    'Press any button on the controller to wake it, with the headset on.',
    'If it does not connect, replace its batteries (or charge it), then pair it again in the headset\'s Settings > Devices / Controllers.',
  ],
  VR_CONTROLLER_UNSTABLE: [
    'Replace the controller\'s battery first: a weak battery is the usual cause of a link that comes and goes.',
    'Keep the controller near the headset, away from the charging cart\'s metal and from Wi-Fi routers; if it still drops, pair it again in the headset\'s Settings > Devices / Controllers.',
  ],
  VR_CONTROLLER_BATTERY_LOW: [
    'Replace the controller\'s AA battery (or charge it) before the lesson.',
  ],
  VR_APP_CRASHED: [
    'Close the app from the headset\'s recent apps and open it again.',
    'If it crashes again at the same place, restart the headset; if it keeps crashing, the app\'s provider needs the crash record in this ticket.',
  ],
  VR_APP_MISSING: [
    'Install the app on this headset from the school\'s device management (or the store account the class set uses).',
  ],
  VR_APP_VERSION_MISMATCH: [
    'Update the app on this headset (or on the others) so the whole class set runs the same version: lessons and shared sessions expect one.',
  ],
  VR_STORAGE_LOW: [
    'Delete recordings, screenshots and apps the class no longer uses from the headset.',
  ],
  VR_OVERHEATING: [
    'Take the headset off and let it cool in a shaded place for 15 minutes; do not charge it while it is hot.',
    'If it overheats again in normal use, it needs an engineer.',
  ],
  VISCA_POWER_ERROR: [
    'Switch the camera off at its power supply, wait 30 seconds and switch it on again.',
    'If the error returns, the camera\'s power circuit needs an engineer: do not open the camera.',
  ],
  VISCA_NOT_ANSWERING: [
    'Check that the camera is powered (its light is on) and that its control cable is seated: the RS-232/RS-422 cable at the camera and the PC adapter, or a network camera\'s network cable.',
    'For a network camera, check in its menu that IP control (VISCA over IP) is on and that its address is the one configured for this room.',
    'Power the camera off and on; the agent re-initialises the control link on its next cycle.',
  ],
  PJLINK_NOT_ANSWERING: [
    'Check that the projector is plugged in and its network cable is connected (a standby projector still answers PJLink when "network standby" is on).',
    'In the projector menu, check that network control (PJLink) is enabled and its IP address is the one configured for this room.',
  ],
  PJLINK_AUTH_FAILED: [
    'The PJLink password in the agent configuration differs from the projector\'s: ask your service provider to update /etc/avcare/agent.json, or reset it in the projector menu.',
  ],
  PJLINK_REFUSED: [
    'In the projector menu, check that network control (PJLink) is enabled; some projectors turn it off with "eco" standby.',
    'Another control system (a central control panel) may hold the projector\'s only PJLink session: ask your service provider.',
  ],
  PJLINK_BAD_REPLY: [
    'The projector answers, but not as PJLink expects: check that the configured address and port (4352) are the projector\'s and not another device\'s.',
    'Send the fault\'s evidence (the bytes it answered) to your service provider: a firmware update may be needed.',
  ],
  ...pjlinkAdvice(),
  LAMP_END_OF_LIFE: [
    'The projector lamp is near the end of its life: order a replacement lamp now, so the room is not left without a projector.',
  ],
  DISK_NEARLY_FULL: [
    'Delete or move old recordings and downloads from the classroom PC; empty the recycle bin.',
  ],
  CPU_SUSTAINED_HIGH: [
    'Close programs that are not needed for the lesson; restart the PC if it stays slow.',
  ],
  NETWORK_RTT_HIGH: [
    'Stop large downloads and updates on the school network during lessons.',
    'Use a wired connection for the classroom PC instead of Wi-Fi.',
  ],
  NETWORK_LOSS_HIGH: ['Use a wired connection for the classroom PC; check the network cable and the switch port.', 'Stop large downloads on the school network during lessons.'],
  NETWORK_JITTER_HIGH: ['Use a wired connection for the classroom PC instead of Wi-Fi.', 'Stop large downloads and updates on the school network during lessons.'],
  NETWORK_VIDEO_THROTTLED: ["Ask the school's network admin whether a firewall or QoS policy limits UDP or video traffic, and to exempt the classroom PCs."],
  NETWORK_NO_MEDIA_PATH: ["Ask the school's network admin to allow UDP to the avcare reflector (the address and ports are in the ticket)."],
  AV_SYNC_OUT_OF_TOLERANCE: ['Check that the camera and the microphone are plugged directly into the PC, not through a hub or an extension.', 'Restart the video-conference software.'],
};

function pjlinkAdvice(): Record<`PJLINK_${Uppercase<PjlinkPart>}_${'WARNING' | 'ERROR'}`, readonly string[]> {
  const byPart: Record<PjlinkPart, readonly string[]> = {
    fan: ['Check that nothing blocks the projector\'s air vents; switch it off and let it cool for 30 minutes.'],
    lamp: ['Switch the projector off and let it cool; if the lamp error stays, the lamp needs replacing.'],
    temperature: ['Check the air vents and the room temperature; clean the filter; switch the projector off to cool for 30 minutes.'],
    cover: ['Check that the lamp cover and the lens cover are closed properly.'],
    filter: ['Clean or replace the projector\'s air filter (see the projector manual), then reset the filter timer in its menu.'],
    other: ['Switch the projector off at the power for a minute and on again; if the error stays, it needs an engineer.'],
  };
  const entries = (Object.keys(byPart) as PjlinkPart[]).flatMap((part) => [
    [`PJLINK_${part.toUpperCase()}_WARNING`, byPart[part]],
    [`PJLINK_${part.toUpperCase()}_ERROR`, byPart[part]],
  ]);
  return Object.fromEntries(entries) as Record<`PJLINK_${Uppercase<PjlinkPart>}_${'WARNING' | 'ERROR'}`, readonly string[]>;
}

export function selfHelpFor(code: string): readonly string[] {
  return (SELF_HELP as Readonly<Record<string, readonly string[]>>)[code] ?? [];
}

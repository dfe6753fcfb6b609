import { z } from 'zod';

/** One switch of the camera or microphone privacy settings (Windows' switches; macOS's per-app records); null when the paste or the PC does not say. */
const setting = z.enum(['allow', 'deny']).nullable();

const capability = z.object({
  /** Group policy (AppPrivacy LetAppsAccess...): 2 forces deny for every app. */
  policy: setting,
  /** "Camera access" for the whole device (HKLM ConsentStore). */
  device: setting,
  /** "Let apps access your camera" for the signed-in user (HKCU ConsentStore). */
  apps: setting,
  /** "Let desktop apps access your camera" (HKCU ConsentStore ...\NonPackaged): the class's meeting and teaching apps. */
  desktopApps: setting,
  /**
   * Programs using it right now, from the ConsentStore's per-app LastUsedTimeStart and a zero
   * LastUsedTimeStop: a camera held by one program is refused to the next.
   */
  inUseBy: z
    .array(z.object({ app: z.string().max(260), since: z.string().max(40) }))
    .max(16)
    .optional(),
  /** Programs refused it one by one: macOS's TCC records ("Don't Allow" at the prompt), by bundle id or path. */
  deniedApps: z.array(z.string().max(260)).max(64).optional(),
});

/** Whether Windows lets programs use the camera and the microphone at all: the first cause Windows users meet. */
export const mediaPrivacySchema = z.object({ camera: capability, microphone: capability });
export type MediaPrivacy = z.infer<typeof mediaPrivacySchema>;
export type PrivacyScope = Exclude<keyof MediaPrivacy['camera'], 'inUseBy' | 'deniedApps'>;

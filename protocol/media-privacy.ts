import { z } from 'zod';

/** One switch of Windows' camera or microphone privacy settings; null when the paste or the PC does not say. */
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
});

/** Whether Windows lets programs use the camera and the microphone at all: the first cause Windows users meet. */
export const mediaPrivacySchema = z.object({ camera: capability, microphone: capability });
export type MediaPrivacy = z.infer<typeof mediaPrivacySchema>;
export type PrivacyScope = keyof MediaPrivacy['camera'];

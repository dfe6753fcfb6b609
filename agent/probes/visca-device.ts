/** What serial and IP VISCA probes both make of a camera's answer, or of its failure to give one. */
import { isAvcareError, untrustedText, type Device, type DeviceError, type ViscaInfo } from '../../protocol/index.js';
import { VISCA_VENDOR_SONY } from './visca.js';

const MAX_TEXT_LENGTH = 256;
const RAW_HEX = /^[0-9a-f]*$/;

export function withAnswer(device: Device, info: ViscaInfo): Device {
  const answered: Device = { ...device, visca: info, status: info.power === 'power-error' ? 'faulty' : 'ok' };
  if (info.version?.vendorId === VISCA_VENDOR_SONY) answered.make = 'Sony';
  return answered;
}

/**
 * Silence and unreadable bytes make the camera unreachable. An error reply proves the camera
 * is there but refused the inquiry, so it is degraded rather than unreachable.
 */
export function withFailure(device: Device, error: unknown): Device {
  const code = isAvcareError(error) ? error.code : 'PROBE_FAILED';
  const deviceError: DeviceError = { code, message: cleanText(error instanceof Error ? error.message : String(error), 512) };
  const raw = isAvcareError(error) ? error.context.raw : undefined;
  if (typeof raw === 'string' && RAW_HEX.test(raw)) deviceError.raw = raw;
  return { ...device, status: code === 'VISCA_ERROR_REPLY' ? 'degraded' : 'unreachable', error: deviceError };
}

/** Port names, configured names and error messages may carry strings from devices and drivers: untrusted. */
export function cleanText(text: string, maxLength = MAX_TEXT_LENGTH): string {
  return untrustedText(text, maxLength) ?? '';
}

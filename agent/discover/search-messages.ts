/**
 * What the two searches send and what devices answer, as pure functions.
 *
 * PJLink class 2 search: "%2SRCH" + CR broadcast to UDP 4352; a class 2 projector answers
 * "%2ACKN=<MAC>" + CR from its own address (to port 4352).
 * Sony's VISCA-over-IP camera setting protocol: STX "ENQ:network" FF ETX broadcast to UDP 52380;
 * a camera answers STX then fields "KEY:value" each ended by FF (MAC, INFO, MODEL, SOFTVERSION,
 * IPADR, MASK, GATEWAY, NAME, WRITE), then ETX. Many non-Sony PTZ cameras answer it too.
 */
export const PJLINK_SEARCH_PORT = 4352;
export const SONY_SETUP_PORT = 52380;

export const PJLINK_SEARCH = Buffer.from('%2SRCH\r', 'latin1');
export const SONY_NETWORK_INQUIRY = Buffer.concat([Buffer.from([0x02]), Buffer.from('ENQ:network', 'latin1'), Buffer.from([0xff, 0x03])]);

const STX = 0x02;
const ETX = 0x03;
const FIELD_END = 0xff;
const MAC = /^[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}$|^[0-9A-Fa-f]{12}$/;
const MAX_FIELD_LENGTH = 128;

/** The MAC a projector answered with, or undefined when the datagram is not an ACKN. */
export function parsePjlinkAckn(datagram: Buffer): string | undefined {
  const text = datagram.toString('latin1').replace(/[\r\n\0]+$/, '').trim();
  const match = /^%2ACKN=(.+)$/i.exec(text);
  const mac = match?.[1]?.trim();
  return mac !== undefined && MAC.test(mac) ? mac.toLowerCase() : undefined;
}

/** The fields of a camera's answer, or undefined when the datagram is not one (our own inquiry looped back included). */
export function parseSonyNetworkReply(datagram: Buffer): Record<string, string> | undefined {
  if (datagram[0] !== STX || datagram.equals(SONY_NETWORK_INQUIRY)) return undefined;
  const end = datagram.lastIndexOf(ETX);
  const body = datagram.subarray(1, end > 0 ? end : datagram.length);
  const fields: Record<string, string> = {};
  let start = 0;
  for (let index = 0; index <= body.length; index += 1) {
    if (index < body.length && body[index] !== FIELD_END) continue;
    const field = body.subarray(start, index).toString('latin1');
    start = index + 1;
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    fields[field.slice(0, colon).toUpperCase()] = field.slice(colon + 1).slice(0, MAX_FIELD_LENGTH);
  }
  return fields['MAC'] !== undefined || fields['MODEL'] !== undefined ? fields : undefined;
}

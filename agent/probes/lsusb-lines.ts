/**
 * Turns pasted `lsusb -v` text back into its lines before parsing: mail quoting removed,
 * indentation dropped (pastes lose or change it), fields that a mail client wrapped joined again,
 * and what is not lsusb output (lsusb's own complaints, prose and signatures after a dump)
 * set aside with the reason, so the reader of a replay knows what was not used.
 */
export interface LsusbLine {
  /** 1-based line number in the original text. */
  number: number;
  /** The line as pasted (capped), for a skipped-line report. */
  raw: string;
  /** Quoting and surrounding whitespace removed. */
  text: string;
}

export type SkipKind = 'preamble' | 'lsusb-note' | 'prose' | 'incomplete';

export interface SkippedLine {
  line: number;
  text: string;
  /** Why, as a word (for any language) and in English (for JSON readers). */
  kind: SkipKind;
  reason: string;
  /** For an incomplete device: its vendor:product from the Bus line, if there was one. */
  ids?: string;
}

const MAX_RAW_LENGTH = 160;

// Descriptor fields are named in Hungarian notation: bLength, bmAttributes, wTotalLength, iProduct,
// idVendor, bcdUSB, dwClockFrequency, baInterfaceNr(0), bNrChannels.
const FIELD_KEY = /^(?:b|bm|bcd|ba|bma|w|wb|i|id|dw)[A-Z][\w()]*/;
const STRING_FIELDS = /^(?:iManufacturer|iProduct|iSerial)\s+\d+\s/;
const HEADER = /^(?:Bus \d{1,3} Device \d{1,3}: ID |Device: ID |Device Descriptor:)/;
/** lsusb's own notes when it cannot read everything: not descriptor data. */
const DIAGNOSTIC = /^(?:Couldn't open device|can't get (?:debug|device qualifier|hub|BOS) descriptor|cannot read device status|Couldn't get|lsusb: )/i;
/** Lines lsusb prints that are neither fields nor section headers. */
const LSUSB_PROSE =
  /^(?:\(?Bus Powered\)?|Self Powered|Remote Wakeup(?: Enabled)?|Debug Mode|Test Mode|U[12] Enabled|Transfer Type\s|Synch Type\s|Usage Type\s|\*\* |Warning:|Negotiated speed:|Report Descriptor|Latency Tolerance|Device can operate|Lowest fully-functional|\(?[0-9a-f]{2}(?: [0-9a-f]{2})+\)?$)/i;

export function lsusbLines(text: string): { lines: LsusbLine[]; skipped: SkippedLine[] } {
  const raw = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const lines: LsusbLine[] = [];
  const skipped: SkippedLine[] = [];
  for (let index = 0; index < raw.length; index += 1) {
    const original = raw[index] ?? '';
    const number = index + 1;
    const stripped = unquote(original).replace(/\s+/g, ' ').trim();
    if (stripped === '') continue;
    if (DIAGNOSTIC.test(stripped)) {
      skipped.push({ line: number, text: cap(original), kind: 'lsusb-note', reason: 'lsusb could not read everything of this device' });
      continue;
    }
    const previous = lines.at(-1);
    if (previous !== undefined && isWrapped(previous, stripped)) {
      previous.text = `${previous.text} ${stripped}`;
      continue;
    }
    lines.push({ number, raw: cap(original), text: stripped });
  }
  return { lines: withoutTrailingProse(lines, skipped), skipped };
}

/** "> " and ">> " from mail replies; lsusb itself never starts a line with ">". */
function unquote(line: string): string {
  return line.replace(/^(?:\s*>)+ ?/, '');
}

/**
 * A line that continues the one before it: a field whose value was wrapped onto the next line
 * ("idVendor" / "0x046d Logitech, Inc."), or the rest of a device string ("iProduct 2 Logitech
 * BRIO 4K" / "Stream Edition").
 */
function isWrapped(previous: LsusbLine, line: string): boolean {
  if (looksLikeLsusb(line)) return false;
  if (FIELD_KEY.test(previous.text) && !previous.text.includes(' ')) return true;
  return STRING_FIELDS.test(previous.text);
}

function looksLikeLsusb(line: string): boolean {
  return FIELD_KEY.test(line) || HEADER.test(line) || /^[A-Z][\w ()/-]*:(?: |$)/.test(line) || LSUSB_PROSE.test(line);
}

/**
 * Prose after a device (a signature, the rest of a mail, quoted replies) is not part of it: a
 * run of lines that do not look like lsusb output, up to the next device or the end, is skipped.
 * Shorter unrecognised lines inside a device (flag names, channel names) stay: lsusb prints many.
 */
function withoutTrailingProse(lines: LsusbLine[], skipped: SkippedLine[]): LsusbLine[] {
  const kept: LsusbLine[] = [];
  let run: LsusbLine[] = [];
  let inDevice = false;
  const flush = (trailing: boolean): void => {
    // Before the first device the parser reports every line itself ("before the first device").
    if (trailing && inDevice) skipped.push(...run.map((line) => ({ line: line.number, text: line.raw, kind: 'prose' as const, reason: 'not lsusb output (after a device)' })));
    else kept.push(...run);
    run = [];
  };
  for (const line of lines) {
    if (HEADER.test(line.text)) {
      flush(true);
      inDevice = true;
      kept.push(line);
    } else if (looksLikeLsusb(line.text)) {
      flush(false);
      kept.push(line);
    } else {
      run.push(line);
    }
  }
  flush(true);
  return kept;
}

function cap(line: string): string {
  return line.length > MAX_RAW_LENGTH ? `${line.slice(0, MAX_RAW_LENGTH)}…` : line;
}

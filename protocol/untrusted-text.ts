import { z } from 'zod';

/**
 * Makes a string from a device (USB descriptor, PJLink name, sysfs file, driver message) safe to
 * store and show: drops control characters (terminal escapes) and format characters (bidi
 * overrides that make a name display as something else), collapses whitespace, and caps the
 * length in code points so a multi-byte character is never cut in half. Empty gives undefined.
 */
export function untrustedText(text: string, maxChars: number): string | undefined {
  const cleaned = text.replace(/\p{Cc}/gu, ' ').replace(/\p{Cf}/gu, '').replace(/\s+/g, ' ').trim();
  const capped = Array.from(cleaned).slice(0, maxChars).join('').trim();
  return capped.length > 0 ? capped : undefined;
}

/**
 * The same for text of several lines (a resolution note, a teacher's report): line breaks stay,
 * as plain "\n" (CR LF, CR, NEL and the Unicode line and paragraph separators become one);
 * every other control and format character goes, tabs become spaces, runs of more than one empty
 * line shrink to one, and the length is capped in code points. Empty gives undefined.
 */
export function untrustedMultiline(text: string, maxChars: number): string | undefined {
  const lines = text
    .replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n')
    .split('\n')
    .map((line) => line.replace(/\p{Cc}/gu, ' ').replace(/\p{Cf}/gu, '').replace(/[^\S\n]+/g, ' ').trimEnd());
  const cleaned = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  const capped = Array.from(cleaned).slice(0, maxChars).join('').trim();
  return capped.length > 0 ? capped : undefined;
}

/** A person's words, at most `maxChars`, cleaned by `clean`; nothing printable left is refused, not stored empty. */
function personWordsSchema(maxChars: number, clean: (text: string, maxChars: number) => string | undefined) {
  return z
    .string()
    .max(maxChars, `must be at most ${maxChars} characters`)
    .transform((text, context) => {
      const cleaned = clean(text, maxChars);
      if (cleaned === undefined) {
        context.addIssue({ code: 'custom', message: 'must hold some printable text' });
        return z.NEVER;
      }
      return cleaned;
    });
}

/** A line a person typed for other people to read (a session's reason, a label), cleaned as untrustedText. */
export function personLineSchema(maxChars: number) {
  return personWordsSchema(maxChars, untrustedText);
}

/** Several lines a person typed (a resolution note, a report), cleaned as untrustedMultiline. */
export function personTextSchema(maxChars: number) {
  return personWordsSchema(maxChars, untrustedMultiline);
}

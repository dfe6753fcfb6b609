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

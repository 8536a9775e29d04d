// How deeply a JSON text nests, counted without parsing, so a body too deep for the store is refused before it is stored.

/**
 * SQLite's JSON functions refuse documents nested deeper than 1,000 levels; a body past that would make every query
 * that reads it fail, so it is refused at the door.
 */
export const maxJsonDepth = 1000;

/** True when `text` (JSON) opens more than `limit` arrays or objects inside one another. Strings are skipped whole. */
export function deeperThan(text: string, limit = maxJsonDepth): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Jump to the closing quote: one not preceded by an odd number of backslashes.
      let end = text.indexOf('"', i + 1);
      while (end > 0) {
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end < 0) return false;
      i = end;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

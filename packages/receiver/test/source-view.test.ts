import { test } from "node:test";
import assert from "node:assert/strict";
import { expandTabs, renderExcerpt, sourceExcerpt } from "../src/source-view.js";

test("expandTabs moves to the next tab stop rather than inserting a fixed width", () => {
  assert.equal(expandTabs("\tx", 4), "    x");
  assert.equal(expandTabs("ab\tc", 4), "ab  c");
  assert.equal(expandTabs("abcd\te", 4), "abcd    e");
  assert.equal(expandTabs("a\tb", 8), "a       b");
  assert.equal(expandTabs("no tabs", 8), "no tabs");
});

test("sourceExcerpt picks the lines around the frame's line, counting from startLine", () => {
  const entry = { text: Array.from({ length: 30 }, (_, i) => `line ${100 + i}`).join("\n"), startLine: 100, tabWidth: 2 };
  const lines = sourceExcerpt(entry, 110)!;
  assert.deepEqual(lines.map((l) => l.number), [105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115]);
  assert.deepEqual(lines.filter((l) => l.current).map((l) => l.text), ["line 110"]);
  assert.deepEqual(sourceExcerpt(entry, "101", 1)!.map((l) => l.number), [100, 101, 102]);
});

test("sourceExcerpt uses the entry's tabWidth, defaulting to 8", () => {
  assert.equal(sourceExcerpt({ text: "\tx", startLine: 1, tabWidth: 3 }, 1)![0]!.text, "   x");
  assert.equal(sourceExcerpt({ text: "\tx", startLine: 1 }, 1)![0]!.text, "        x");
});

test("sourceExcerpt gives nothing for a line outside the text, a path-only entry or no line", () => {
  assert.equal(sourceExcerpt({ text: "a\nb", startLine: 5 }, 4), undefined);
  assert.equal(sourceExcerpt({ text: "a\nb", startLine: 5 }, 7), undefined);
  assert.equal(sourceExcerpt({ path: "/x.py" }, 1), undefined);
  assert.equal(sourceExcerpt({ text: "a", startLine: 1 }, undefined), undefined);
});

test("renderExcerpt marks the current line and escapes the code", () => {
  const out = renderExcerpt([
    { number: 1, text: "if (a < b) {", current: false },
    { number: 2, text: "<script>x()</script>", current: true },
  ]).value;
  assert.match(out, /<code class="ln hl" data-current-line="2"><span class="no">2<\/span>&#60;script&#62;/);
  assert.match(out, /a &#60; b/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeHtml, href, html, trusted } from "../src/html.js";

test("escapeHtml escapes the five characters that matter in content and quoted attributes", () => {
  assert.equal(escapeHtml(`<script>alert("x")</script> & 'y'`), "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;y&#39;");
  assert.equal(escapeHtml("plain text ü"), "plain text ü");
});

test("html escapes every interpolated value, including inside arrays, and keeps nested html as markup", () => {
  const evil = `<img src=x onerror="window.__xss=1">`;
  const out = html`<p title="${evil}">${evil}${[evil, html`<b>${evil}</b>`]}${null}${undefined}${false}${0}</p>`.value;
  assert.doesNotMatch(out, /<img/);
  assert.equal(out.match(/<b>/g)?.length, 1);
  assert.match(out, /title="&#60;img src=x onerror=&#34;window.__xss=1&#34;&#62;"/);
  assert.match(out, /0<\/p>$/);
});

test("trusted markup passes through unescaped", () => {
  assert.equal(html`${trusted("<hr>")}`.value, "<hr>");
});

test("href percent-encodes query values and repeats list values", () => {
  assert.equal(href("/groups/a", { attr: ["error.type:Unhandled exception", "x:&"], q: undefined }), "/groups/a?attr=error.type%3AUnhandled+exception&attr=x%3A%26");
  assert.equal(href("/"), "/");
});

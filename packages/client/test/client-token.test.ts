// The submission token appears in no output of the client: print, inspect, JSON, enumeration, debug lines, echoed answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Console } from "node:console";
import { Writable } from "node:stream";
import { inspect } from "node:util";
import { BacktraceClient, type BacktraceOptions } from "../src/index.js";
import { redactUrl } from "../src/submission-url.js";
import { startReceiver } from "./helpers/http-receiver.js";

const TOKEN = "c0ffee5ecret0123456789abcdef";

/** Runs `run` with the process's stderr writes collected; returns what was written. */
async function captureStderr(run: () => Promise<void> | void): Promise<string> {
  const chunks: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stderr.write;
  try {
    await run();
  } finally {
    process.stderr.write = original;
  }
  return chunks.join("");
}

/** What a real `console.log(value)` prints. */
function consoleLog(value: unknown): string {
  let out = "";
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { out += chunk.toString("utf8"); done(); } });
  new Console({ stdout: sink, stderr: sink }).log(value);
  return out;
}

/** Every string reachable through own properties (symbols and non-enumerable ones included), without calling getters. */
function reachableStrings(root: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (typeof value === "string") return void out.push(value);
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value)) return;
    seen.add(value);
    for (const key of Reflect.ownKeys(value)) {
      out.push(String(key));
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor && "value" in descriptor) walk(descriptor.value);
    }
  };
  walk(root);
  return out;
}

const shapes: Array<{ name: string; options: Pick<BacktraceOptions, "endpoint" | "token"> }> = [
  { name: "submit URL", options: { endpoint: `https://submit.backtrace.io/uni/${TOKEN}/json` } },
  { name: "submit URL ending in /JSON", options: { endpoint: `https://submit.backtrace.io/uni/${TOKEN}/JSON` } },
  { name: "submit URL without /json", options: { endpoint: `https://submit.backtrace.io/uni/${TOKEN}` } },
  { name: "submit URL with a doubled slash", options: { endpoint: `https://submit.backtrace.io//uni/${TOKEN}/json` } },
  { name: "submit URL with more after /json", options: { endpoint: `https://submit.backtrace.io/uni/${TOKEN}/json/extra` } },
  { name: "submit URL without universe", options: { endpoint: `https://submit.backtrace.io/${TOKEN}/json` } },
  { name: "submit-shaped path on another host", options: { endpoint: `https://host.test/uni/${TOKEN}/json` } },
  { name: "server with token option", options: { endpoint: "https://host.test:6098", token: TOKEN } },
  { name: "server with token= in the URL", options: { endpoint: `https://host.test/post?token=${TOKEN}` } },
];

for (const shape of shapes) {
  test(`the token of a ${shape.name} shows in no print, inspect, JSON, enumeration or debug line`, async () => {
    let client: BacktraceClient | undefined;
    const stderr = await captureStderr(() => {
      client = new BacktraceClient({ ...shape.options, debugBacktrace: true, disableGlobalHandler: true, spool: false });
    });
    const c = client!;
    assert.match(stderr, /initialized; reports go to/);
    const outputs: Record<string, string> = {
      stderr,
      "console.log": consoleLog(c),
      inspect: inspect(c),
      "inspect customInspect:false": inspect(c, { customInspect: false, showHidden: true, depth: Infinity, getters: true }),
      "JSON.stringify": JSON.stringify(c),
      "JSON.stringify nested": JSON.stringify({ client: c }),
      spread: inspect({ ...c }, { customInspect: false, depth: Infinity }),
      "Object.keys": JSON.stringify(Object.keys(c)),
      getOwnPropertyNames: JSON.stringify(Object.getOwnPropertyNames(c)),
      "reachable properties": reachableStrings(c).join("\n"),
      "String()": String(c),
    };
    for (const [where, text] of Object.entries(outputs)) assert.ok(!text.includes(TOKEN), `${where} shows the token: ${text.slice(0, 400)}`);
    await captureStderr(() => c.finalize());
  });
}

test("redactUrl masks the token in every submit URL shape and keeps the universe", () => {
  assert.equal(redactUrl(`https://submit.backtrace.io/uni/${TOKEN}/JSON`), "https://submit.backtrace.io/uni/***/JSON");
  assert.equal(redactUrl(`https://submit.backtrace.io/uni/${TOKEN}`), "https://submit.backtrace.io/uni/***");
  assert.equal(redactUrl(`https://submit.backtrace.io//uni/${TOKEN}/json`), "https://submit.backtrace.io//uni/***/json");
  assert.equal(redactUrl(`https://submit.backtrace.io/uni/${TOKEN}/json/extra`), "https://submit.backtrace.io/uni/***/json/***");
  assert.equal(redactUrl(`https://submit.backtrace.io/${TOKEN}/json`), "https://submit.backtrace.io/***/json");
});

test("debug mode hides the token when the server's error answer echoes the request", async () => {
  // A proxy that echoes the request line (with token=) and the token on its own in a 400 body.
  const receiver = await startReceiver({
    script: (_index, request) => ({ status: 400, body: `bad request: POST ${request.url} HTTP/1.1; key ${TOKEN}; token=${TOKEN}&x=1` }),
  });
  try {
    const client = new BacktraceClient({
      endpoint: `http://127.0.0.1:${receiver.port}`,
      token: TOKEN,
      debugBacktrace: true,
      disableGlobalHandler: true,
      spool: false,
    });
    const stderr = await captureStderr(async () => {
      const outcome = await client.sendReport("echo me");
      assert.equal(outcome.status, "failed");
      await client.finalize();
    });
    assert.equal(receiver.requests.length, 1);
    assert.ok(receiver.requests[0]!.url.includes(TOKEN), "the request did carry the token");
    assert.match(stderr, /rejected: HTTP 400 bad request: POST \/post\?format=json&token=\*\*\* HTTP\/1\.1; key \*\*\*; token=\*\*\*&x=1/);
    assert.ok(!stderr.includes(TOKEN), stderr);
  } finally {
    await receiver.close();
  }
});

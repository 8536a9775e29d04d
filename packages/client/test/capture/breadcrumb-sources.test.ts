// Automatic breadcrumbs in real processes: console, node:http, fetch and warnings reach the `bt-breadcrumbs-0`
// attachment of a sent report and of a crash report; console output stays byte for byte the same.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runNode, startNode, collect } from "../helpers/child.js";
import { startReceiver, type ReceivedRequest } from "../helpers/http-receiver.js";

const dir = fileURLToPath(new URL("../fixtures/breadcrumbs/", import.meta.url));

interface Crumb {
  id: number;
  message: string;
  timestamp: number;
  type: string;
  level: string;
  attributes?: Record<string, unknown>;
}

function crumbsOf(request: ReceivedRequest | undefined): Crumb[] {
  const part = request?.parts?.find((p) => p.name === "attachment_bt-breadcrumbs-0");
  assert.ok(part, "the request has a bt-breadcrumbs-0 part");
  assert.equal(part.filename, "bt-breadcrumbs-0");
  return JSON.parse(part.data.toString("utf8")) as Crumb[];
}

function checkCrumbs(request: ReceivedRequest | undefined): Crumb[] {
  assert.equal(request?.validation?.valid, true, JSON.stringify(request?.validation));
  const crumbs = crumbsOf(request);
  const attributes = (request?.report as { attributes: Record<string, unknown> }).attributes;
  assert.equal(attributes["breadcrumbs.lastId"], crumbs[crumbs.length - 1]!.id);
  for (let i = 1; i < crumbs.length; i++) assert.ok(crumbs[i]!.id > crumbs[i - 1]!.id, "ids grow");
  const find = (text: string): Crumb => {
    const found = crumbs.find((c) => c.message.includes(text));
    assert.ok(found, `a breadcrumb with "${text}" in ${JSON.stringify(crumbs.map((c) => c.message))}`);
    return found;
  };
  assert.deepEqual(
    [find("plain line"), find("formatted 3 items"), find("careful"), find("bad thing"), find("details")].map((c) => [c.type, c.level]),
    [["log", "info"], ["log", "info"], ["log", "warning"], ["log", "error"], ["log", "debug"]],
  );
  assert.match(find("formatted 3 items").message, /nested/);
  const items = find("GET http://127.0.0.1");
  assert.equal(items.type, "http");
  assert.equal(items.attributes?.["status"], 200);
  assert.equal(typeof items.attributes?.["duration"], "number");
  assert.equal(find("/missing").level, "warning");
  const fetched = find("/fetched");
  assert.equal(fetched.attributes?.["status"], 200);
  const text = JSON.stringify(crumbs);
  for (const secret of ["s3cr3tvalue", "k3yvalue", "hunter22"]) assert.ok(!text.includes(secret), `${secret} is redacted`);
  assert.ok(!text.includes("must not be recorded"), "bodies are never recorded");
  const warning = find("something is deprecated");
  assert.deepEqual([warning.type, warning.level], ["system", "warning"]);
  const manual = find("manual step");
  assert.deepEqual([manual.type, manual.level, manual.attributes?.["step"]], ["manual", "warning", 4]);
  assert.equal(crumbs.filter((c) => c.message.includes("/post")).length, 0, "the client's own requests are not breadcrumbs");
  return crumbs;
}

test("console, http, fetch, warning and manual breadcrumbs reach the bt-breadcrumbs-0 attachment of a sent report", async () => {
  const receiver = await startReceiver();
  try {
    const result = await runNode(["app.cjs"], { cwd: dir, env: { BT_ENDPOINT: receiver.url } });
    assert.equal(result.code, 0, result.stderr);
    await receiver.waitFor(1);
    const crumbs = checkCrumbs(receiver.requests[0]);
    assert.ok(crumbs.length <= 100);
  } finally {
    await receiver.close();
  }
});

test("the crash report carries the breadcrumbs too", async () => {
  const receiver = await startReceiver();
  try {
    const result = await runNode(["app.cjs"], { cwd: dir, env: { BT_ENDPOINT: receiver.url, MODE: "crash" } });
    assert.equal(result.code, 1);
    await receiver.waitFor(1);
    const request = receiver.requests[0];
    assert.equal((request?.report as { attributes: Record<string, unknown> }).attributes["error.type"], "Unhandled rejection");
    checkCrumbs(request);
  } finally {
    await receiver.close();
  }
});

test("breadcrumbs: false sends no breadcrumb attachment; switches turn single sources off", async () => {
  const receiver = await startReceiver();
  try {
    const off = await runNode(["app.cjs"], { cwd: dir, env: { BT_ENDPOINT: receiver.url, BT_BREADCRUMBS: "false" } });
    assert.equal(off.code, 0, off.stderr);
    await receiver.waitFor(1);
    const first = receiver.requests[0];
    // The manual breadcrumb is still kept: only the automatic sources are off.
    const manualOnly = crumbsOf(first);
    assert.deepEqual(manualOnly.map((c) => c.type), ["manual"]);
    const some = await runNode(["app.cjs"], { cwd: dir, env: { BT_ENDPOINT: receiver.url, BT_BREADCRUMBS: JSON.stringify({ console: false, maxEntries: 3 }) } });
    assert.equal(some.code, 0, some.stderr);
    await receiver.waitFor(2);
    const second = receiver.requests[1];
    const crumbs = crumbsOf(second);
    assert.equal(crumbs.length, 3, "maxEntries keeps the newest");
    assert.ok(crumbs.every((c) => c.type !== "log"));
    const own = (second?.report as { annotations: Record<string, Record<string, unknown>> }).annotations["backtrace-ts"];
    assert.ok(Number(own?.["droppedBreadcrumbs"]) >= 1, "the overwritten ones are counted");
  } finally {
    await receiver.close();
  }
});

test("console output is byte for byte the same with breadcrumbs on, into a pipe", async () => {
  const receiver = await startReceiver();
  try {
    const [without, withLib] = await Promise.all([
      runNode(["console.cjs"], { cwd: dir }),
      runNode(["console.cjs"], { cwd: dir, env: { BT_ENDPOINT: receiver.url } }),
    ]);
    assert.equal(withLib.code, without.code);
    assert.ok(without.stdout.length > 10_000);
    assert.equal(withLib.stdout, without.stdout);
    assert.equal(withLib.stderr, without.stderr);
  } finally {
    await receiver.close();
  }
});

test("a closed stdout ends the same way with breadcrumbs on", async () => {
  const receiver = await startReceiver();
  try {
    const run = async (env: Record<string, string>) => {
      const child = startNode(["console.cjs"], { cwd: dir, env });
      child.stdout?.destroy();
      return collect(child);
    };
    const [without, withLib] = await Promise.all([run({}), run({ BT_ENDPOINT: receiver.url })]);
    assert.equal(withLib.code, without.code);
    assert.equal(withLib.signal, without.signal);
    assert.equal(withLib.stderr.replace(/\(node:\d+\)/g, ""), without.stderr.replace(/\(node:\d+\)/g, ""));
  } finally {
    await receiver.close();
  }
});

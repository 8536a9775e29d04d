// Cases found by trying to lose reports around the journal: two clients over one spool folder in one process,
// process.exit() while reports are still being written to the spool, and a kill while a group commit waits for the
// thread pool.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { BacktraceClient } from "../../src/index.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { runNode, tempDir, waitUntil } from "../fixtures/crash/child.js";

const lib = new URL("../../dist/index.cjs", import.meta.url).pathname;
const uuidsAt = (receiver: { requests: Array<{ report: unknown }> }): Set<string> =>
  new Set(receiver.requests.map((r) => String((r.report as { uuid?: unknown } | undefined)?.uuid)));

type Received = Awaited<ReturnType<typeof startReceiver>>["requests"];

/** The next run over `spool`, with an endpoint that answers: the requests it got once the `expected` reports came (20 s at most). */
async function nextRun(spool: string, expected: string[]): Promise<Received> {
  const good = await startReceiver();
  const next = new BacktraceClient({ endpoint: good.url, token: "t", spool, disableGlobalHandler: true });
  await waitUntil(() => expected.every((uuid) => uuidsAt(good).has(uuid)), 20_000, "the reports").catch(() => undefined);
  await next.finalize();
  await good.close();
  return good.requests;
}

type Crumb = { message: string; attributes?: unknown };

/** Each report's breadcrumbs as the next run over `spool` sends them; "not recovered" or "no breadcrumbs" when it does not. */
async function breadcrumbsAtNextRun(spool: string, uuids: string[]): Promise<Array<Crumb[] | string>> {
  const requests = await nextRun(spool, uuids);
  return uuids.map((uuid) => {
    const request = requests.find((r) => (r.report as { uuid?: unknown } | undefined)?.uuid === uuid);
    if (request === undefined) return "not recovered";
    const part = request.parts?.find((p) => p.name === "attachment_bt-breadcrumbs-0");
    return part ? (JSON.parse(part.data.toString("utf8")) as Crumb[]) : "no breadcrumbs";
  });
}

test("two clients over one spool folder: one settling all its reports does not remove the other's from the journal", async (t) => {
  const spool = tempDir("journal-two");
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const answering = await startReceiver();
  const hanging = await startReceiver({ script: () => ({ hang: true }) });
  t.after(() => Promise.all([answering.close(), hanging.close()]));
  const script = `const bt = require(${JSON.stringify(lib)});
    const a = new bt.BacktraceClient({ endpoint: ${JSON.stringify(answering.url)}, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true });
    const b = new bt.BacktraceClient({ endpoint: ${JSON.stringify(hanging.url)}, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 60 });
    const held = b.createReport(); held.setException(new Error("held by a server that never answers")); void held.send();
    console.log(held.uuid);
    a.sendException(new Error("sent at once")).then(() => setTimeout(() => process.kill(process.pid, "SIGKILL"), 200));
    setInterval(() => undefined, 1000);`;
  const run = await runNode(["-e", script], {});
  assert.equal(run.signal, "SIGKILL", run.stderr);
  const held = run.stdout.trim();
  assert.ok(uuidsAt({ requests: await nextRun(spool, [held]) }).has(held), "the report the second client held arrived by the next run");
});

test("process.exit() while reports are being written to the spool: every one of them arrives by the next run", async (t) => {
  const spool = tempDir("journal-exit");
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const slow = await startReceiver({ script: (i) => (i === 0 ? undefined : { hang: true }) });
  t.after(() => slow.close());
  const script = `const bt = require(${JSON.stringify(lib)});
    const c = new bt.BacktraceClient({ endpoint: ${JSON.stringify(slow.url)}, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, queueSize: 1, aggregateDuplicates: false });
    const uuids = [];
    const first = c.createReport(); first.setException(new Error("first")); uuids.push(first.uuid);
    const sending = first.send();
    for (let i = 0; i < 5; i++) { const r = c.createReport(); r.setException(new Error("more " + i)); uuids.push(r.uuid); void r.send(); }
    console.log(JSON.stringify(uuids));
    sending.then(() => process.exit(0));`;
  const run = await runNode(["-e", script], {});
  assert.equal(run.code, 0, run.stderr);
  const uuids = JSON.parse(run.stdout.trim()) as string[];
  const arrived = new Set([...uuidsAt(slow), ...uuidsAt({ requests: await nextRun(spool, uuids.slice(1)) })]);
  assert.deepEqual(uuids.filter((uuid) => !arrived.has(uuid)), []);
});

test("kill -9 with breadcrumbs: each report the next run sends carries the breadcrumbs it was captured with", async (t) => {
  const spool = tempDir("journal-crumbs");
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const hanging = await startReceiver({ script: () => ({ hang: true }) });
  t.after(() => hanging.close());
  // Two reports share their first breadcrumbs; the second has one more, and one recorded with a secret.
  const script = `const bt = require(${JSON.stringify(lib)});
    const c = bt.initialize({ endpoint: ${JSON.stringify(hanging.url)}, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 60, aggregateDuplicates: false });
    bt.addBreadcrumb("first ✓", { attributes: { step: 1 } });
    bt.addBreadcrumb("second");
    const a = c.createReport(); a.setException(new Error("report a")); void a.send();
    bt.addBreadcrumb("third, password=hunter22");
    const b = c.createReport(); b.setException(new Error("report b")); void b.send();
    process.stdout.write(JSON.stringify([a.uuid, b.uuid]) + "\\n");
    setTimeout(() => process.kill(process.pid, "SIGKILL"), 300);
    setInterval(() => undefined, 1000);`;
  const run = await runNode(["-e", script], {});
  assert.equal(run.signal, "SIGKILL", run.stderr);
  const uuids = JSON.parse(run.stdout.trim().split("\n").pop()!) as [string, string];
  const [ofA, ofB] = (await breadcrumbsAtNextRun(spool, uuids)).map((crumbs) => (typeof crumbs === "string" ? crumbs : crumbs.map((c) => [c.message, c.attributes])));
  assert.deepEqual(ofA, [
    ["first ✓", { step: 1 }],
    ["second", undefined],
  ]);
  assert.deepEqual(ofB, [
    ["first ✓", { step: 1 }],
    ["second", undefined],
    ["third, password=[REDACTED]", undefined],
  ]);
});

/**
 * Runs `body` in a child whose thread pool's one thread is held by an open of a pipe no one writes (as slow DNS lookups
 * hold the pool): every asynchronous write of the journal waits behind it. `body` captures with client `c` (breadcrumbs
 * "first" and "second" recorded), prints the uuids it expects back, and kills the process. Resolves to each uuid's
 * breadcrumb messages as the next run sends it.
 */
async function poolHeldRun(t: TestContext, body: string): Promise<unknown[]> {
  const spool = tempDir("journal-pool");
  const pipes = tempDir("journal-pool-fifo");
  t.after(() => {
    rmSync(spool, { recursive: true, force: true });
    rmSync(pipes, { recursive: true, force: true });
  });
  const fifo = join(pipes, "fifo");
  execFileSync("mkfifo", [fifo]);
  const hanging = await startReceiver({ script: () => ({ hang: true }) });
  t.after(() => hanging.close());
  const script = `const bt = require(${JSON.stringify(lib)});
    const c = bt.initialize({ endpoint: ${JSON.stringify(hanging.url)}, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 60, aggregateDuplicates: false });
    bt.addBreadcrumb("first", { attributes: { step: 1 } });
    bt.addBreadcrumb("second");
    require("node:fs").open(${JSON.stringify(fifo)}, "r", () => undefined);
    const capture = (message) => { const r = c.createReport(); r.setException(new Error(message)); void r.send(); return r.uuid; };
    ${body}
    setInterval(() => undefined, 1000);`;
  const run = await runNode(["-e", script], { UV_THREADPOOL_SIZE: "1" });
  assert.equal(run.signal, "SIGKILL", run.stderr);
  const uuids = JSON.parse(run.stdout.trim().split("\n").pop()!) as string[];
  return (await breadcrumbsAtNextRun(spool, uuids)).map((crumbs) => (typeof crumbs === "string" ? crumbs : crumbs.map((crumb) => crumb.message)));
}

test("kill -9 while a group commit waits behind a busy thread pool: its captures, and those written meanwhile with their breadcrumbs, arrive", async (t) => {
  // Report a's group commit (its breadcrumbs' parts and its line) waits behind the pool past the 50 ms bound; b and c,
  // captured inside a synchronous loop, are written by the synchronous commit of that bound and refer to the same parts.
  const crumbs = await poolHeldRun(
    t,
    `const a = capture("report a");
    setTimeout(() => {
      const b = capture("report b");
      const until = performance.now() + 60; while (performance.now() < until);
      const d = capture("report c");
      process.stdout.write(JSON.stringify([a, b, d]) + "\\n");
      process.kill(process.pid, "SIGKILL");
    }, 60);`,
  );
  assert.deepEqual(crumbs, [
    ["first", "second"],
    ["first", "second"],
    ["first", "second"],
  ]);
});

test("kill -9 while the thread pool stays busy and the application is idle: reports captured 50 ms before it arrive", async (t) => {
  // Nothing else is captured after a, nor in a synchronous loop after b: their group commits are written synchronously
  // once late.
  const crumbs = await poolHeldRun(
    t,
    `const a = capture("report a");
    setTimeout(() => {
      const b = capture("report b");
      setTimeout(() => {
        process.stdout.write(JSON.stringify([a, b]) + "\\n");
        process.kill(process.pid, "SIGKILL");
      }, 150);
    }, 150);`,
  );
  assert.deepEqual(crumbs, [
    ["first", "second"],
    ["first", "second"],
  ]);
});

test("a client in a worker thread leaves the main thread's live journal and claims alone: it is one process", async (t) => {
  const spool = tempDir("journal-worker");
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const hanging = await startReceiver({ script: () => ({ hang: true }) });
  const other = await startReceiver();
  t.after(() => Promise.all([hanging.close(), other.close()]));
  // The main thread holds a report open (its endpoint never answers); then a worker starts a client of its own over
  // the same spool, whose first turn looks for journals and claims of ended processes.
  const script = `const bt = require(${JSON.stringify(lib)});
    const { Worker } = require("node:worker_threads");
    const main = new bt.BacktraceClient({ endpoint: ${JSON.stringify(hanging.url)}, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 60 });
    const held = main.createReport(); held.setException(new Error("held by the main thread")); void held.send();
    setTimeout(() => {
      const worker = new Worker(\`const bt = require(\${JSON.stringify(${JSON.stringify(lib)})});
        const c = new bt.BacktraceClient({ endpoint: ${JSON.stringify(other.url)}, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true });
        setTimeout(() => c.flush(1).then(() => process.exit(0)), 1500);\`, { eval: true });
      worker.on("exit", () => {
        const journals = require("node:fs").readdirSync(${JSON.stringify(spool)}).filter((f) => f.startsWith("journal-"));
        console.log(JSON.stringify({ uuid: held.uuid, journals }));
        process.exit(0);
      });
    }, 300);`;
  const run = await runNode(["-e", script], {});
  assert.equal(run.code, 0, run.stderr);
  const { uuid, journals } = JSON.parse(run.stdout.trim().split("\n").pop()!) as { uuid: string; journals: string[] };
  assert.ok(uuid);
  assert.deepEqual(other.requests.length, 0, "the worker's client sent none of the main thread's reports");
  assert.ok(journals.some((name) => !/-r\d+\.log$/.test(name)), `the main thread's journal is still its own: ${journals.join(", ")}`);
});

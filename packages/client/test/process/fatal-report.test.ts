// Out of memory and other fatal errors: Node's diagnostic report written into the spool by a real crashing child, sent by the next start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { runNode } from "../helpers/child.js";
import { startReceiver, type ReceivedRequest } from "../helpers/http-receiver.js";
import { fatalClassifier, javascriptStackText, safeCommandLine } from "../../src/process/fatal-replay.js";
import { reportConfiguredElsewhere, scriptIndexOf } from "../../src/process/fatal-setup.js";
import { reportUuid } from "../../src/spool/fatal-folder.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const LIB = join(here, "..", "..", "dist", "index.cjs");
const FIXTURES = join(here, "..", "fixtures", "fatal");
const SECRET = "s3cr3t-planted-in-the-environment-0451";

/** The application, compiled from TypeScript with an external source map, in a folder of its own. */
function buildApp(): { dir: string; app: string; source: string } {
  const dir = mkdtempSync(join(tmpdir(), "bt-fatal-"));
  const app = join(dir, "dist", "app.js");
  const source = join(FIXTURES, "fatal-app.ts");
  buildSync({ entryPoints: [source], outfile: app, bundle: true, platform: "node", format: "cjs", sourcemap: "linked", logLevel: "silent" });
  return { dir, app, source };
}

interface Body {
  classifiers: string[];
  attributes: Record<string, unknown>;
  annotations: Record<string, unknown>;
  threads: Record<string, { name: string; fault: boolean; stack: Array<{ funcName: string; library?: string; line?: number }> }>;
  uuid: string;
}

function bodyOf(request: ReceivedRequest | undefined): Body {
  assert.ok(request, "a report arrived");
  return request.report as Body;
}

/**
 * What differs between any two runs made equal: the last GCs V8 prints (their number, timings, where its buffer
 * cuts), addresses, the report's name, and the native frames below the heading (where the allocation that failed
 * came from varies from run to run, with the library or without).
 */
function normalize(stderr: string): string {
  const heading = "----- Native stack trace -----";
  const cut = stderr.indexOf(heading);
  const head = cut === -1 ? stderr : stderr.slice(0, cut + heading.length);
  return head
    // V8 prints its last GCs from a ring buffer of text: their number varies, and the first can be cut mid-line.
    .replace(/(<--- Last few GCs --->\n)[\s\S]*?\n*(?=<--- JS stacktrace --->|FATAL ERROR)/g, "$1[gc]\n\n")
    .replace(/0x[0-9a-f]+/g, "0x")
    .replace(/report\.\d{8}\.\d{6}\.\d+\.\d+\.\d+\.json/g, "report.json");
}

test("a process that runs out of heap is reported at the next start: OutOfMemory, a crash, its native stack, its attributes, no environment", async () => {
  const { dir, app, source } = buildApp();
  const receiver = await startReceiver();
  const spool = join(dir, "spool");
  const env = { BT_LIB: LIB, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool, PLANTED_SECRET: SECRET };
  try {
    const args = ["--max-old-space-size=32", app, "--password", SECRET];
    const [without, withLib] = await Promise.all([runNode(args, { env: { ...env, BT_ENDPOINT: undefined } }), runNode(args, { env })]);
    assert.equal(withLib.signal, without.signal, "the same ending (SIGABRT) as without the library");
    assert.equal(withLib.code, without.code);
    assert.equal(without.signal, "SIGABRT");
    assert.match(withLib.stderr, /FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory/);
    // The one difference: an empty line and Node's two lines about the report, between V8's message and the native stack.
    const extra = /(?<=JavaScript heap out of memory\n)\nWriting Node\.js report to file: report\.\d{8}\.\d{6}\.\d+\.0\.001\.json\nNode\.js report completed\n(?=----- Native stack trace -----\n)/;
    assert.match(withLib.stderr, extra);
    assert.equal(normalize(withLib.stderr.replace(extra, "")), normalize(without.stderr));
    for (const run of [without, withLib]) assert.match(run.stderr, /----- Native stack trace -----\n\n 1: 0x/, "the native stack is printed, as always");
    const fatal = join(spool, "fatal");
    const files = readdirSync(fatal).filter((name) => name.startsWith("report."));
    assert.equal(files.length, 1, "one diagnostic report in the spool's fatal/ folder");
    assert.equal(statSync(fatal).mode & 0o777, 0o700);
    assert.equal(receiver.requests.length, 0, "nothing could be sent by the dying process");
    // What this Node wrote as the JavaScript stack at out of memory (docs/crash-handling.md: Node 20, 22 and 24 write none).
    const diagnostic = JSON.parse(readFileSync(join(fatal, files[0]!), "utf8")) as {
      javascriptStack: { message: string; stack: string[] };
      resourceUsage: { rss: number; maxRss: number };
    };
    const written = diagnostic.javascriptStack;
    const wroteStack = written.stack.some((line) => line.startsWith("at "));

    const next = await runNode([join(FIXTURES, "replay.cjs")], { env });
    assert.equal(next.code, 0, next.stderr);
    await receiver.waitFor(1);
    const body = bodyOf(receiver.requests[0]);
    assert.deepEqual(body.classifiers, ["OutOfMemory"]);
    assert.equal(body.attributes["error.type"], "Crash");
    assert.match(String(body.attributes["error.message"]), /heap out of memory/);
    assert.equal(body.attributes["release"], "r-17", "the attributes the crashed process recorded at initialize");
    // It died before its first turn (before its defaults were recorded): its id, not the sender's, and no session of the sender's.
    const crashedPid = Number(/^report\.\d{8}\.\d{6}\.(\d+)\./.exec(files[0]!)?.[1]);
    assert.equal(body.attributes["process.id"], crashedPid, "the crashed process's id");
    assert.equal(body.attributes["application.session"], undefined, "not the session of the process that sent it");
    // Its memory at its death, from the diagnostic report; none of the sending process's own figures.
    assert.equal(body.attributes["vm.rss.size"], diagnostic.resourceUsage.rss);
    assert.equal(body.attributes["vm.rss.peak"], diagnostic.resourceUsage.maxRss);
    assert.ok(diagnostic.resourceUsage.rss > 32 * 1024 * 1024, "a full 32 MB heap and more");
    for (const name of ["vm.vma.size", "vm.data.size", "process.thread.count", "sched.cs.voluntary"]) assert.equal(body.attributes[name], undefined, name);
    assert.match(body.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const main = body.threads["main"]!.stack;
    if (wroteStack) {
      // A Node that walks the JavaScript stack at out of memory: the allocating function, in the TypeScript source.
      const top = main.find((frame) => !frame.library?.startsWith("node:"));
      assert.equal(top?.funcName, "allocateUntilFull");
      assert.equal(top?.library, source, "mapped to the original TypeScript file");
    } else {
      assert.deepEqual(written, { message: "No stack.", stack: ["Unavailable."], errorProperties: {} }, `Node ${process.version} wrote no JavaScript stack`);
      assert.deepEqual(main, [], "no JavaScript frame is made up");
    }
    const native = body.threads["main-native"];
    assert.ok(native && native.stack.some((frame) => /OOMErrorHandler|FatalProcessOutOfMemory/.test(frame.funcName)), "V8's native stack");
    for (const name of ["Heap statistics", "Resource usage", "libuv handles", "Diagnostic report"]) assert.ok(name in body.annotations, name);
    const summary = body.annotations["Diagnostic report"] as { commandLine: string[]; droppedArguments: number };
    assert.deepEqual(summary.commandLine.slice(-1), [app], "node, its flags and the script; not the arguments after it");
    assert.equal(summary.droppedArguments, 2);
    const sent = receiver.requests[0]!.body.toString("utf8");
    assert.ok(!sent.includes(SECRET), "no environment variable or argument value is sent");
    assert.ok(!sent.includes("environmentVariables"));
    assert.deepEqual(readdirSync(fatal).filter((name) => name.startsWith("report.")), [], "the file is removed once sent");
  } finally {
    await receiver.close();
  }
});

test("the JavaScript stack of a diagnostic report is source-mapped to the TypeScript, with source lines, and the same uuid at every try", async () => {
  const { dir, app, source } = buildApp();
  // The first receiver refuses (503): the report stays; the second start sends it under the same uuid.
  const receiver = await startReceiver({ script: (index) => (index === 0 ? { status: 503 } : undefined) });
  const spool = join(dir, "spool");
  const env = { BT_LIB: LIB, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool, PLANTED_SECRET: SECRET, WRITE_REPORT: "1" };
  try {
    const first = await runNode([app], { env });
    assert.equal(first.code, 0, first.stderr);
    const replay = join(FIXTURES, "replay.cjs");
    await runNode([replay], { env: { ...env, BT_SPOOL: spool } });
    await runNode([replay], { env: { ...env, BT_SPOOL: spool } });
    await receiver.waitFor(2);
    const [refused, accepted] = receiver.requests.map((request) => bodyOf(request));
    assert.equal(refused!.uuid, accepted!.uuid, "the same uuid on every try");
    // Node's own frame of writeReport comes first; the application's frame below it is the allocating function.
    const top = accepted!.threads["main"]!.stack.find((frame) => !frame.library?.startsWith("node:"))!;
    assert.equal(top.funcName, "allocateUntilFull");
    assert.equal(top.library, source, "mapped to the original TypeScript file");
    assert.ok(!receiver.requests.some((request) => request.body.toString("utf8").includes(SECRET)));
  } finally {
    await receiver.close();
  }
});

test("a diagnostic report cut short by the crash is never sent: removed at the next start, and counted", async () => {
  const receiver = await startReceiver();
  const spool = mkdtempSync(join(tmpdir(), "bt-fatal-cut-"));
  const env = { BT_LIB: LIB, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool };
  try {
    // A first run makes the spool and its fatal folder; then a crash's report, cut short, is left in it.
    await runNode([join(FIXTURES, "replay.cjs")], { env });
    const cut = join(spool, "fatal", "report.20261201.101010.4242.0.001.json");
    writeFileSync(cut, '{"header":{"event":"Allocation failed - JavaScript heap out of memory","processId":4242', { mode: 0o600 });
    const next = await runNode([join(FIXTURES, "replay-counters.cjs")], { env });
    assert.equal(next.code, 0, next.stderr);
    const counters = JSON.parse(next.stdout.trim().split("\n").pop()!) as { dropped: Record<string, number> };
    assert.equal(counters.dropped["spool-corrupt"], 1, "counted where unreadable spool records are");
    assert.equal(existsSync(cut), false, "removed");
    assert.equal(receiver.requests.length, 0, "nothing sent");
  } finally {
    await receiver.close();
  }
});

test("a report's uuid is the same for the same file, another for another", () => {
  assert.equal(reportUuid("report.a.json", "{}"), reportUuid("report.a.json", "{}"));
  assert.notEqual(reportUuid("report.a.json", "{}"), reportUuid("report.b.json", "{}"));
});

test("the classifier is OutOfMemory for heap exhaustion, else the fatal error's name", () => {
  assert.equal(fatalClassifier({ event: "Allocation failed - JavaScript heap out of memory", trigger: "OOMError" }), "OutOfMemory");
  assert.equal(fatalClassifier({ event: "Reached heap limit", trigger: "FatalError" }), "OutOfMemory");
  assert.equal(fatalClassifier({ event: "v8::ToLocalChecked Empty MaybeLocal", trigger: "FatalError" }), "FatalError");
  assert.equal(fatalClassifier({ event: "JavaScript API", trigger: "JavaScript API" }), "FatalError");
});

test("the JavaScript stack text keeps only frame lines, and a report without one gives the message alone", () => {
  assert.equal(javascriptStackText({ stack: ["Unavailable."] }, "OutOfMemory: x"), "OutOfMemory: x");
  assert.equal(javascriptStackText({ stack: ["at f (/a.js:1:2)", "at  (/b.js:3:4)"] }, "M"), "M\n    at f (/a.js:1:2)\n    at  (/b.js:3:4)");
});

test("the command line keeps node, its flags and the script; without the process's record only the executable", () => {
  assert.deepEqual(safeCommandLine(["node", "--max-old-space-size=32", "app.js", "--token", "x"], 2), { kept: ["node", "--max-old-space-size=32", "app.js"], dropped: 2 });
  assert.deepEqual(safeCommandLine(["node", "app.js", "secret"], undefined), { kept: ["node"], dropped: 2 });
  // The code of -e/-p is the application's text: left out, its flag kept.
  assert.deepEqual(safeCommandLine(["node", "--max-old-space-size=32", "-e", "const k = 1", "arg"], 3), { kept: ["node", "--max-old-space-size=32", "-e", "[code left out]"], dropped: 1 });
  assert.deepEqual(safeCommandLine(["node", "--print=k", "-pe", "k"], 3), { kept: ["node", "--print=[code left out]", "-pe", "[code left out]"], dropped: 0 });
  // Where the script is, from Node's own flags: after them, or nowhere when the code is a flag's value.
  assert.equal(scriptIndexOf(["--max-old-space-size=32"]), 2);
  for (const flags of [["-e", "code"], ["--eval=code"], ["-pe", "code"], ["--print", "code"], ["--max-old-space-size=32", "-p", "code"]]) {
    assert.equal(scriptIndexOf(flags), flags.length, flags.join(" "));
  }
  assert.equal(scriptIndexOf(["--experimental-vm-modules"]), 2, "a flag that only starts like --eval is not it");
});

test("process.report set up by the application, or a --report flag, is left alone", () => {
  const base = { reportOnFatalError: false, reportOnSignal: false, reportOnUncaughtException: false, directory: "", filename: "", compact: false, signal: "SIGUSR2" };
  assert.equal(reportConfiguredElsewhere(base, [], undefined), false);
  assert.equal(reportConfiguredElsewhere({ ...base, directory: "/var/reports" }, [], undefined), true);
  assert.equal(reportConfiguredElsewhere({ ...base, reportOnUncaughtException: true }, [], undefined), true);
  assert.equal(reportConfiguredElsewhere(base, ["--report-on-fatalerror"], undefined), true);
  assert.equal(reportConfiguredElsewhere(base, [], "--report-directory=/x"), true);
});

test("initialize called a second time (a new default client, the previous one finalized) keeps fatal error reports on, with the new client's attributes", async () => {
  const receiver = await startReceiver();
  const spool = mkdtempSync(join(tmpdir(), "bt-fatal-twice-"));
  const options = JSON.stringify({ endpoint: receiver.url, token: "t0k3n", spool });
  try {
    const crashed = await runNode([
      "--max-old-space-size=32",
      "-e",
      `const bt = require(${JSON.stringify(LIB)}); const o = ${options};
       bt.initialize(o); bt.initialize({ ...o, attributes: { second: "yes" } });
       setTimeout(() => { process.stdout.write(process.report.directory + "\\n"); const kept = []; for (;;) kept.push(new Array(1000).fill(1)); }, 300);`,
    ]);
    assert.equal(crashed.signal, "SIGABRT", crashed.stderr);
    assert.equal(crashed.stdout.trim(), join(spool, "fatal"), "the report still goes to the spool after the first client's finalize");
    const next = await runNode(["-e", `require(${JSON.stringify(LIB)}).initialize(${options}); setTimeout(() => {}, 1500);`]);
    assert.equal(next.code, 0, next.stderr);
    await receiver.waitFor(1);
    const body = bodyOf(receiver.requests[0]);
    assert.deepEqual(body.classifiers, ["OutOfMemory"]);
    assert.equal(body.attributes["second"], "yes", "the second client's attributes were recorded");
    // And once every client is finalized, process.report is Node's default again.
    const ended = await runNode(["-e", `const bt = require(${JSON.stringify(LIB)}); const o = ${options}; bt.initialize(o); bt.initialize(o);
       setTimeout(async () => { await bt.finalize(); process.stdout.write(JSON.stringify([process.report.directory, process.report.reportOnFatalError])); }, 100);`]);
    assert.equal(ended.stdout, JSON.stringify(["", false]), ended.stderr);
  } finally {
    await receiver.close();
  }
});

test("a process run with -e (no script file) sends none of its application's arguments, nor its working folder", async () => {
  const receiver = await startReceiver();
  const spool = mkdtempSync(join(tmpdir(), "bt-fatal-eval-"));
  const options = JSON.stringify({ endpoint: receiver.url, token: "t0k3n", spool });
  const secret = "positional-s3cr3t-0452";
  try {
    const inCode = "in-code-s3cr3t-7781";
    const code = `const apiKey = "${inCode}"; require(${JSON.stringify(LIB)}).initialize(${options}); setTimeout(() => { const kept = []; for (;;) kept.push(new Array(1000).fill(1)); }, 200);`;
    const cwd = mkdtempSync(join(tmpdir(), "bt-working-folder-"));
    const crashed = await runNode(["--max-old-space-size=32", "-e", code, secret, "--", `--token=${secret}`], { cwd });
    assert.equal(crashed.signal, "SIGABRT", crashed.stderr);
    const next = await runNode(["-e", `require(${JSON.stringify(LIB)}).initialize(${options}); setTimeout(() => {}, 1500);`]);
    assert.equal(next.code, 0, next.stderr);
    await receiver.waitFor(1);
    const body = bodyOf(receiver.requests[0]);
    const summary = body.annotations["Diagnostic report"] as { commandLine: string[]; droppedArguments: number };
    assert.deepEqual(summary.commandLine.slice(1), ["--max-old-space-size=32", "-e", "[code left out]"], "node and its flags; the code, the value of -e, left out");
    assert.ok(!receiver.requests[0]!.body.toString().includes(inCode), "nothing of the code given on the command line");
    assert.equal(body.attributes["application.session"] !== undefined, true, "a process that lived past its first turn recorded its session");
    assert.equal(summary.droppedArguments, 3);
    assert.ok(!receiver.requests[0]!.body.toString().includes(secret), "no argument of the application in what is sent");
    assert.ok(!receiver.requests[0]!.body.toString().includes(cwd), "nor the folder it ran in (it may be the user's home)");
  } finally {
    await receiver.close();
  }
});

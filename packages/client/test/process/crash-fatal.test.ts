// The pure parts of the crash path: reading the --unhandled-rejections mode, and the spool-then-send order of a fatal report.
import { test } from "node:test";
import assert from "node:assert/strict";
import { splitNodeOptions, unhandledRejectionsMode } from "../../src/process/crash.js";
import { deliverFatal } from "../../src/process/fatal.js";
import type { TransportResult } from "../../src/transport/post.js";
import type { Payload } from "../../src/payload.js";
import { jsonBody } from "../../src/payload.js";

test("the mode is Node's default, throw, when no flag is given", () => {
  assert.equal(unhandledRejectionsMode([], undefined), "throw");
  assert.equal(unhandledRejectionsMode(["--inspect"], "--max-old-space-size=100"), "throw");
});

test("the mode is read from the command line in both spellings, the last one winning", () => {
  assert.equal(unhandledRejectionsMode(["--unhandled-rejections=warn"], undefined), "warn");
  assert.equal(unhandledRejectionsMode(["--unhandled-rejections", "none"], undefined), "none");
  assert.equal(unhandledRejectionsMode(["--unhandled_rejections=strict"], undefined), "strict");
  assert.equal(unhandledRejectionsMode(["--unhandled-rejections=warn", "--unhandled-rejections=warn-with-error-code"], undefined), "warn-with-error-code");
});

test("the command line wins over NODE_OPTIONS, which is used when the command line says nothing", () => {
  assert.equal(unhandledRejectionsMode(["--unhandled-rejections=strict"], "--unhandled-rejections=warn"), "strict");
  assert.equal(unhandledRejectionsMode([], "--require ./x.js --unhandled-rejections=none"), "none");
  assert.equal(unhandledRejectionsMode([], '--title="a b" --unhandled-rejections warn'), "warn");
});

test("NODE_OPTIONS is split on spaces, with double quotes grouping and backslash escapes inside them", () => {
  assert.deepEqual(splitNodeOptions('  --a  --title="x y" "--b=\\"q\\""  '), ["--a", "--title=x y", '--b="q"']);
  assert.deepEqual(splitNodeOptions(""), []);
});

const payload: Payload = { uuid: "11111111-2222-3333-4444-555555555555", json: jsonBody("{}"), attachments: [] };

function fakeSpool(writable = true): { log: string[]; spool: { writeSync(p: Payload): boolean; removeSync(uuid: string): void } } {
  const log: string[] = [];
  return {
    log,
    spool: {
      writeSync: (p) => {
        log.push(`write ${p.uuid}`);
        return writable;
      },
      removeSync: (uuid) => void log.push(`remove ${uuid}`),
    },
  };
}

function poster(result: TransportResult, log: string[]) {
  return (url: string, p: Payload, options: { timeoutMs: number }): TransportResult => {
    log.push(`post ${p.uuid} to ${url} within ${options.timeoutMs}`);
    return result;
  };
}

test("a fatal report is written to the spool before it is sent, and removed after a 200", () => {
  const { log, spool } = fakeSpool();
  const outcome = deliverFatal(payload, {
    url: "http://example.test/post",
    ignoreSslCertificate: false,
    deadline: 5_000,
    now: () => 1_000,
    spool,
    post: poster({ kind: "response", status: 200, body: "" }, log),
  });
  assert.equal(outcome, "sent");
  assert.deepEqual(log, [`write ${payload.uuid}`, `post ${payload.uuid} to http://example.test/post within 4000`, `remove ${payload.uuid}`]);
});

test("a fatal report that is not accepted stays in the spool", () => {
  for (const result of [
    { kind: "response", status: 503, body: "" },
    { kind: "error", reason: "timed out", timeout: true },
  ] satisfies TransportResult[]) {
    const { log, spool } = fakeSpool();
    const outcome = deliverFatal(payload, { url: "u", ignoreSslCertificate: false, deadline: 2, now: () => 1, spool, post: poster(result, log) });
    assert.equal(outcome, "spooled");
    assert.ok(!log.some((line) => line.startsWith("remove")), log.join("; "));
  }
});

test("with no time left the fatal report is only spooled; without a spool it is lost", () => {
  const { log, spool } = fakeSpool();
  const post = poster({ kind: "response", status: 200, body: "" }, log);
  assert.equal(deliverFatal(payload, { url: "u", ignoreSslCertificate: false, deadline: 10, now: () => 10, spool, post }), "spooled");
  assert.deepEqual(log, [`write ${payload.uuid}`]);
  assert.equal(deliverFatal(payload, { url: "u", ignoreSslCertificate: false, deadline: 10, now: () => 20, spool: undefined, post }), "lost");
});

test("a spool that throws or a sender that throws does not escape deliverFatal", () => {
  const throwing = {
    writeSync: (): boolean => {
      throw new Error("disk on fire");
    },
    removeSync: (): void => undefined,
  };
  const outcome = deliverFatal(payload, {
    url: "u",
    ignoreSslCertificate: false,
    deadline: 100,
    now: () => 0,
    spool: throwing,
    post: () => {
      throw new Error("no threads");
    },
  });
  assert.equal(outcome, "lost");
});

// Stacks deeper than Node's 10 frames: the limit raised at initialize unless the application set one, loader frames dropped and counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { dropLoaderFrames, parseStack } from "../../src/capture/stack.js";

const dir = fileURLToPath(new URL("../fixtures/stack/", import.meta.url));

interface Body {
  threads: Record<string, { stack: Array<{ funcName: string; library?: string }> }>;
  mainThread: string;
  annotations: Record<string, Record<string, unknown>>;
}

test("an error 15 calls deep keeps every frame up to the function that caught it, without the loader's", async () => {
  const receiver = await startReceiver();
  try {
    const result = await runNode(["deep.cjs"], { cwd: dir, env: { BT_ENDPOINT: receiver.url } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "limit 50\n");
    await receiver.waitFor(1);
    const body = receiver.requests[0]!.report as Body;
    const names = body.threads[body.mainThread]!.stack.map((f) => f.funcName);
    assert.equal(names.filter((n) => n === "level").length, 15);
    assert.ok(names.includes("caughtHere"), names.join(", "));
    assert.ok(body.threads[body.mainThread]!.stack.every((f) => !/^node:internal\/(modules|main)\//.test(f.library ?? "")));
    assert.ok(Number(body.annotations["backtrace-ts"]?.["droppedLoaderFrames"]) >= 2);
  } finally {
    await receiver.close();
  }
});

test("a limit the application set itself is left alone", async () => {
  const receiver = await startReceiver();
  try {
    const result = await runNode(["deep.cjs"], { cwd: dir, env: { BT_ENDPOINT: receiver.url, LIMIT: "5" } });
    assert.equal(result.stdout, "limit 5\n");
    await receiver.waitFor(1);
    const body = receiver.requests[0]!.report as Body;
    assert.equal(body.threads[body.mainThread]!.stack.length, 5);
  } finally {
    await receiver.close();
  }
});

test("loader frames are dropped only below the first application frame", () => {
  const frames = parseStack(
    [
      "Error: x",
      "    at node:internal/modules/cjs/loader:1:1",
      "    at app (/srv/app.js:3:9)",
      "    at Module._compile (node:internal/modules/cjs/loader:1554:14)",
      "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
      "    at node:internal/main/run_main_module:36:49",
    ].join("\n"),
  );
  const { frames: kept, dropped } = dropLoaderFrames(frames);
  assert.deepEqual(kept.map((f) => f.file), ["node:internal/modules/cjs/loader", "/srv/app.js", "node:internal/process/task_queues"]);
  assert.equal(dropped, 2);
});

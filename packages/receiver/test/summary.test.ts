import { test } from "node:test";
import assert from "node:assert/strict";
import { faultingThread, groupKey, summarize } from "../src/summary.js";
import { nodeBody, pythonBody } from "./helpers.js";

test("the group key is the classifier and the top three frames' funcName and normalized file, without lines", () => {
  const frames = [
    { funcName: "a", library: "/x.js", line: 1 },
    { funcName: "b", library: "/y.js", line: 2 },
    { address: "0x10" },
    { funcName: "d", library: "/z.js" },
  ];
  assert.equal(groupKey("TypeError", frames), "TypeError\na x.js\nb y.js\n0x10 ");
  const moved = frames.map((f) => ({ ...f, line: 99 }));
  assert.equal(groupKey("TypeError", moved), groupKey("TypeError", frames));
});

test("summarize reads the indexed columns from a python-shaped body", () => {
  const body = pythonBody({ uuid: "0F8FAD5B-D9CB-469F-A165-70867728950E" });
  const summary = summarize(body);
  assert.equal(summary.uuid, "0f8fad5b-d9cb-469f-a165-70867728950e");
  assert.equal(summary.classifier, "ZeroDivisionError");
  assert.equal(summary.errorType, "Unhandled exception");
  assert.equal(summary.message, "division by zero");
  assert.equal(summary.application, "MainProcess");
  assert.equal(summary.hostname, "py-host");
  assert.equal(summary.topFrame, "divide (calc.py:3)");
  assert.match(summary.groupId, /^[0-9a-f]{16}$/);
});

test("the faulting thread is the first with fault:true, else mainThread", () => {
  const body = nodeBody({
    threads: { a: { name: "A", stack: [] }, b: { name: "B", fault: true, stack: [{ funcName: "x" }] }, main: { name: "main", stack: [] } },
  });
  assert.equal(faultingThread(body)?.id, "b");
  const noFault = nodeBody({ threads: { a: { name: "A", stack: [] }, main: { name: "main", stack: [] } } });
  assert.equal(faultingThread(noFault)?.id, "main");
});

test("summarize falls back to the error annotation for the message and to (unclassified)", () => {
  const body = nodeBody({ classifiers: undefined, attributes: {} });
  const summary = summarize(body);
  assert.equal(summary.classifier, "(unclassified)");
  assert.equal(summary.message, "config missing");
  assert.equal(summary.errorType, undefined);
});

test("the same bundle run from two folders or two releases is one group", () => {
  const stack = (root: string) => [
    { funcName: "chargeCard", library: `${root}/bundle.js`, line: 10 },
    { funcName: "Layer.handle", library: `${root}/node_modules/.pnpm/express@4.18.2/node_modules/express/lib/router/layer.js`, line: 95 },
    { funcName: "processTicksAndRejections", library: "node:internal/process/task_queues", line: 95 },
  ];
  const key = groupKey("TypeError", stack("/tmp/a"));
  for (const root of ["/tmp/b", "/srv/app/releases/20240501120000", "file:///C:/Users/dev/app", "C:\\work\\app"]) {
    assert.equal(groupKey("TypeError", stack(root)), key, root);
  }
  assert.match(key, /Layer\.handle express\/lib\/router\/layer\.js/);
  const a = summarize(nodeBody({ threads: { main: { name: "main", fault: true, stack: stack("/home/dev/shop") } } }));
  const b = summarize(nodeBody({ threads: { main: { name: "main", fault: true, stack: stack("/opt/shop/v2.4.1") } } }));
  assert.equal(a.groupId, b.groupId);
  assert.notEqual(summarize(nodeBody({ threads: { main: { name: "main", fault: true, stack: [{ funcName: "other", library: "/tmp/a/bundle.js" }] } } })).groupId, a.groupId);
});

test("messages are told apart from errors, and the main attributes are read", () => {
  const message = summarize(nodeBody({ attributes: { "error.type": "Message", "application.version": "1.2.3", environment: "staging", "request.route": "/orders/:id" } }));
  assert.equal(message.kind, "message");
  assert.equal(message.version, "1.2.3");
  assert.equal(message.environment, "staging");
  assert.equal(message.route, "/orders/:id");
  assert.equal(summarize(nodeBody()).kind, "error");
});

test("the search text holds the message and attribute values, not source code", () => {
  const body = pythonBody();
  const summary = summarize(body);
  assert.match(summary.searchText, /division by zero/);
  assert.match(summary.searchText, /py-host/);
  assert.doesNotMatch(summary.searchText, /def divide/);
});

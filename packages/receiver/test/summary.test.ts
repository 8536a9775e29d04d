import { test } from "node:test";
import assert from "node:assert/strict";
import { faultingThread, groupKey, summarize } from "../src/summary.js";
import { nodeBody, pythonBody } from "./helpers.js";

test("the group key is the classifier and the top three frames' funcName and library, without lines", () => {
  const frames = [
    { funcName: "a", library: "/x.js", line: 1 },
    { funcName: "b", library: "/y.js", line: 2 },
    { address: "0x10" },
    { funcName: "d", library: "/z.js" },
  ];
  assert.equal(groupKey("TypeError", frames), "TypeError\na /x.js\nb /y.js\n0x10 ");
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

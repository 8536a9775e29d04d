import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { describeThrown, exceptionAnnotation, formatFrame, type ThrownInfo } from "../../src/capture/thrown.js";

const HERE = fileURLToPath(import.meta.url);

function allTraps(): ProxyHandler<object> {
  const fail = (): never => {
    throw new Error("trap");
  };
  return {
    get: fail, set: fail, has: fail, ownKeys: fail, getPrototypeOf: fail, setPrototypeOf: fail,
    getOwnPropertyDescriptor: fail, defineProperty: fail, deleteProperty: fail, isExtensible: fail,
    preventExtensions: fail, apply: fail, construct: fail,
  };
}

class HttpError extends Error {
  status = 503;
}
class NamedError extends Error {
  override name = "NamedError";
}

function throwingGetters(): Error {
  const e = new Error("hidden");
  for (const key of ["stack", "message", "name"]) {
    Object.defineProperty(e, key, { get() { throw new Error(`no ${key}`); } });
  }
  return e;
}

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

// [label, value, expected type, expected message (string or test)]
const VALUES: Array<[string, () => unknown, string, string | RegExp]> = [
  ["a string", () => "boom", "string", "boom"],
  ["an empty string", () => "", "string", ""],
  ["a number", () => 42, "number", "42"],
  ["NaN", () => NaN, "number", "NaN"],
  ["Infinity", () => -Infinity, "number", "-Infinity"],
  ["a bigint", () => 10n, "bigint", "10n"],
  ["a symbol", () => Symbol("sym"), "symbol", "Symbol(sym)"],
  ["true", () => true, "boolean", "true"],
  ["null", () => null, "null", "null"],
  ["undefined", () => undefined, "undefined", "undefined"],
  ["a plain object", () => ({ a: 1 }), "Object", "{ a: 1 }"],
  ["a plain object with a message", () => ({ message: "obj msg", code: 7 }), "Object", "obj msg"],
  ["a null-prototype object", () => Object.assign(Object.create(null), { x: 1 }), "Object", /x: 1/],
  ["an array", () => [1, "two"], "Array", "[ 1, 'two' ]"],
  ["a huge array", () => Array.from({ length: 1000 }, (_, i) => i), "Array", /more items/],
  ["a class instance", () => new (class Thing { v = 1; })(), "Thing", /Thing \{ v: 1 \}/],
  ["a Map", () => new Map([["k", 1]]), "Map", /Map\(1\)/],
  ["a function", () => function thrownFn() {}, "Function", /thrownFn/],
  ["a Date", () => new Date(0), "Date", /1970/],
  ["a Promise", () => Promise.resolve(1), "Promise", /Promise/],
  ["an Error", () => new Error("plain"), "Error", "plain"],
  ["a TypeError", () => new TypeError("tt"), "TypeError", "tt"],
  ["a RangeError", () => new RangeError("rr"), "RangeError", "rr"],
  ["a SyntaxError from JSON.parse", () => { try { JSON.parse("{"); } catch (e) { return e; } }, "SyntaxError", /JSON/],
  ["a subclass that keeps name 'Error'", () => new HttpError("svc"), "HttpError", "svc"],
  ["a subclass with its own name", () => new NamedError("nn"), "NamedError", "nn"],
  ["an Error with no message", () => new Error(), "Error", ""],
  ["an Error whose message is an object", () => Object.assign(new Error(), { message: { deep: true } }), "Error", /deep: true/],
  ["an Error with a non-string name", () => Object.assign(new Error("n"), { name: 42 }), "Error", "n"],
  ["an Error whose stack is deleted", () => { const e = new Error("nostack"); delete (e as { stack?: string }).stack; return e; }, "Error", "nostack"],
  ["an Error whose stack is a number", () => Object.assign(new Error("numstack"), { stack: 5 }), "Error", "numstack"],
  ["an Error whose stack is replaced", () => Object.assign(new Error("custom"), { stack: "custom stack text" }), "Error", "custom"],
  ["an Error from another realm", () => vm.runInNewContext("new TypeError('other realm')"), "TypeError", "other realm"],
  ["a string thrown from another realm's code", () => vm.runInNewContext("'realm string'"), "string", "realm string"],
  ["an object from another realm", () => vm.runInNewContext("({ a: 1 })"), "Object", "{ a: 1 }"],
  ["an Error with throwing getters", throwingGetters, "Error", "[unreadable]"],
  ["a Proxy that throws on every trap", () => new Proxy({}, allTraps()), "Object", /.*/],
  ["a Proxy of an Error that throws on every trap", () => new Proxy(new Error("px"), allTraps()), "Object", /.*/],
  ["a revoked Proxy", revoked, "Object", /.*/],
  ["an object with a throwing toString", () => ({ toString() { throw new Error("no"); } }), "Object", /toString/],
  ["an object with a throwing Symbol.toPrimitive", () => ({ [Symbol.toPrimitive]() { throw new Error("no"); } }), "Object", /toPrimitive/],
  ["an object with a throwing inspect hook", () => ({ [Symbol.for("nodejs.util.inspect.custom")]() { throw new Error("no"); } }), "Object", /.*/],
  ["an object with a throwing getter", () => ({ get bad() { throw new Error("no"); } }), "Object", /bad/],
  ["an error-like plain object (string message and stack)", () => ({ message: "like", stack: "Error: like\n    at f (/a.js:1:2)" }), "Error", "like"],
  ["an error-like plain object with a name", () => ({ name: "RemoteError", message: "far", stack: "RemoteError: far" }), "RemoteError", "far"],
  ["a DOMException", () => new DOMException("aborted", "AbortError"), "AbortError", "aborted"],
  ["an AbortSignal reason", () => AbortSignal.abort().reason, "AbortError", /abort/],
  ["a very long string", () => "x".repeat(20_000), "string", /^x{10000}…$/],
];

for (const [label, make, type, message] of VALUES) {
  test(`describes ${label} without throwing`, () => {
    const info = describeThrown(make());
    assert.equal(info.type, type);
    if (typeof message === "string") assert.equal(info.message, message);
    else assert.match(info.message, message);
    assert.ok(Array.isArray(info.frames));
    assert.ok(Array.isArray(info.causes));
    assert.equal(typeof info.extra, "object");
    // The annotation must be buildable and JSON-able for every value.
    assert.doesNotThrow(() => JSON.stringify(exceptionAnnotation(info), (_k, v) => (typeof v === "bigint" ? String(v) : v)));
  });
}

test("parses the frames of an error-like object", () => {
  const info = describeThrown({ message: "like", stack: "Error: like\n    at f (/a.js:1:2)", code: 3 });
  assert.deepEqual(info.frames, [{ funcName: "f", file: "/a.js", line: 1, column: 2 }]);
  assert.deepEqual(info.extra, { code: 3 });
});

test("parses the frames of a real error thrown here", () => {
  const info = describeThrown(new Error("here"));
  assert.equal(info.frames[0]?.file, HERE);
  assert.equal(typeof info.stack, "string");
});

test("keeps own fields of Node system errors as extra", () => {
  let caught: unknown;
  try {
    readFileSync("/nonexistent/dir/file.txt");
  } catch (e) {
    caught = e;
  }
  const info = describeThrown(caught);
  assert.equal(info.type, "Error");
  assert.equal(info.extra.code, "ENOENT");
  assert.equal(info.extra.syscall, "open");
  assert.equal(info.extra.path, "/nonexistent/dir/file.txt");
  assert.equal(typeof info.extra.errno, "number");
  assert.equal(exceptionAnnotation(info).code, "ENOENT");
});

test("keeps subclass fields, and marks a throwing field getter", () => {
  const e = new HttpError("down");
  Object.defineProperty(e, "bad", { enumerable: true, get() { throw new Error("x"); } });
  const info = describeThrown(e);
  assert.equal(info.extra.status, 503);
  assert.equal(info.extra.bad, "[unreadable]");
});

test("an error whose stack is missing has no frames; a replaced stack is parsed as given", () => {
  const e = new Error("gone");
  delete (e as { stack?: string }).stack;
  assert.deepEqual(describeThrown(e).frames, []);
  assert.equal(describeThrown(e).stack, undefined);
  const r = Object.assign(new Error("r"), { stack: "Error: r\n    at replaced (/x/y.js:3:4)" });
  assert.deepEqual(describeThrown(r).frames, [{ funcName: "replaced", file: "/x/y.js", line: 3, column: 4 }]);
});

test("lines of a multi-line message that look like frames are not parsed as frames", () => {
  const e = new Error("first\n    at fake (/not/real.js:1:1)\nlast");
  const info = describeThrown(e);
  assert.equal(info.frames[0]?.file, HERE);
  assert.ok(info.frames.every((f) => f.file !== "/not/real.js"));
});

test("follows a cause chain and stops at a cycle", () => {
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  const c = new TypeError("c", { cause: b });
  (a as { cause?: unknown }).cause = c; // cycle: c -> b -> a -> c
  const info = describeThrown(c);
  assert.equal(info.causes.length, 1);
  const [b1] = info.causes as [ThrownInfo];
  assert.equal(b1.message, "b");
  assert.equal(b1.relation, "cause");
  assert.equal(b1.frames[0]?.file, HERE);
  const [a1] = b1.causes as [ThrownInfo];
  assert.equal(a1.message, "a");
  const [back] = a1.causes as [ThrownInfo];
  assert.equal(back.circular, true);
  assert.equal(back.type, "TypeError");
  assert.deepEqual(back.causes, []);
  const note = exceptionAnnotation(info);
  assert.equal(note.type, "TypeError");
  const causeB = note.cause as Record<string, unknown>;
  assert.equal(causeB.message, "b");
  assert.match((causeB.frames as string[])[0]!, /thrown\.test\.ts:\d+:\d+\)$/);
  const causeA = causeB.cause as Record<string, unknown>;
  assert.equal((causeA.cause as Record<string, unknown>).circular, true);
  assert.doesNotThrow(() => JSON.stringify(note));
});

test("a cause that is not an error (a string, undefined) is described too", () => {
  const info = describeThrown(new Error("top", { cause: "because" }));
  assert.deepEqual(
    info.causes.map((c) => [c.type, c.message]),
    [["string", "because"]],
  );
  const undef = describeThrown(new Error("top", { cause: undefined }));
  assert.equal(undef.causes[0]?.type, "undefined");
  assert.deepEqual(describeThrown(new Error("no cause")).causes, []);
});

test("describes an AggregateError of 3 errors with their frames", () => {
  const agg = new AggregateError([new Error("one"), new RangeError("two"), "three"], "all failed", { cause: new Error("root") });
  const info = describeThrown(agg);
  assert.equal(info.type, "AggregateError");
  assert.equal(info.message, "all failed");
  assert.deepEqual(
    info.causes.map((c) => [c.relation, c.type, c.message]),
    [["cause", "Error", "root"], ["error", "Error", "one"], ["error", "RangeError", "two"], ["error", "string", "three"]],
  );
  assert.equal(info.causes[1]?.frames[0]?.file, HERE);
  const note = exceptionAnnotation(info);
  assert.equal((note.cause as Record<string, unknown>).message, "root");
  const errors = note.errors as Array<Record<string, unknown>>;
  assert.deepEqual(errors.map((e) => e.message), ["one", "two", "three"]);
  assert.equal(note.stack, agg.stack);
});

test("bounds depth, breadth and total size", () => {
  let deep: Error = new Error("level 0");
  for (let i = 1; i <= 20; i++) deep = new Error(`level ${i}`, { cause: deep });
  let info = describeThrown(deep);
  let depth = 0;
  while (info.causes[0] !== undefined) {
    info = info.causes[0];
    depth++;
  }
  assert.equal(depth, 8);
  assert.equal(info.omittedCauses, 1);

  const wide = describeThrown(new AggregateError(Array.from({ length: 100 }, (_, i) => new Error(`e${i}`))));
  assert.equal(wide.causes.length, 16);
  assert.equal(wide.omittedCauses, 84);

  const nested = new AggregateError(Array.from({ length: 16 }, () => new AggregateError(Array.from({ length: 16 }, () => new Error("leaf")))));
  let count = 0;
  const countAll = (i: ThrownInfo): void => {
    count++;
    i.causes.forEach(countAll);
  };
  countAll(describeThrown(nested));
  assert.ok(count <= 64, `described ${count} values`);
  assert.equal(describeThrown(deep, { maxDepth: 2 }).causes[0]?.causes[0]?.omittedCauses, 1);
});

test("an AggregateError member that is the aggregate itself is marked circular", () => {
  const members: unknown[] = [];
  const agg = new AggregateError(members, "self");
  members.push(agg); // errors holds a copy of the array, so make the cycle through a cause
  const e = new Error("inner");
  const agg2 = new AggregateError([e], "outer");
  (e as { cause?: unknown }).cause = agg2;
  const info = describeThrown(agg2);
  assert.equal(info.causes[0]?.causes[0]?.circular, true);
  assert.equal(describeThrown(agg).causes.length, 0);
});

test("extra fields named like the annotation's own keys go under extra", () => {
  const e = Object.assign(new Error("x"), { type: "custom", code: "E1" });
  const note = exceptionAnnotation(describeThrown(e));
  assert.equal(note.type, "Error");
  assert.equal(note.code, "E1");
  assert.deepEqual(note.extra, { type: "custom" });
});

test("formats frames as V8 prints them", () => {
  assert.equal(formatFrame({ funcName: "f", file: "/a.ts", line: 1, column: 2 }), "f (/a.ts:1:2)");
  assert.equal(formatFrame({ funcName: "Array.map", native: true }), "Array.map (native)");
  assert.equal(formatFrame({ funcName: "x" }), "x (unknown location)");
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { SAFE_JSON_DEFAULTS, addCutCounts, emptyCutCounts, toSafeJson, type CutCounts, type SafeJsonLimits } from "../../src/serialize/safe-json.js";
import { toAttributeValue } from "../../src/serialize/serialize.js";

function convert(value: unknown, limits?: Partial<SafeJsonLimits>): { out: unknown; counts: CutCounts } {
  const counts = emptyCutCounts();
  const out = toSafeJson(value, limits, counts);
  // every result must survive JSON unchanged
  assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
  return { out, counts };
}

test("turns a cycle into [Circular]", () => {
  const a: Record<string, unknown> = { name: "a" };
  a["self"] = a;
  a["list"] = [a, { back: a }];
  const { out, counts } = convert(a);
  assert.deepEqual(out, { name: "a", self: "[Circular]", list: ["[Circular]", { back: "[Circular]" }] });
  assert.equal(counts.circular, 3);
});

test("repeats shared references that are not cycles", () => {
  const shared = { x: 1 };
  const { out, counts } = convert({ a: shared, b: shared, c: [shared, shared] });
  assert.deepEqual(out, { a: { x: 1 }, b: { x: 1 }, c: [{ x: 1 }, { x: 1 }] });
  assert.equal(counts.circular, 0);
});

test("turns a BigInt into its decimal string", () => {
  assert.deepEqual(convert({ n: 12345678901234567890n, m: -5n }).out, { n: "12345678901234567890", m: "-5" });
});

test("turns a Symbol into its description", () => {
  assert.deepEqual(convert([Symbol("tag"), Symbol(), Symbol.iterator]).out, [
    "Symbol(tag)",
    "Symbol()",
    "Symbol(Symbol.iterator)",
  ]);
});

test("leaves out symbol keys like JSON does", () => {
  assert.deepEqual(convert({ [Symbol("k")]: 1, a: 2 }).out, { a: 2 });
});

test("turns functions into [Function name]", () => {
  function named(): void {}
  class Klass {}
  assert.deepEqual(convert([named, () => 1, Klass, async function* gen() {}]).out, [
    "[Function named]",
    "[Function (anonymous)]",
    "[Function Klass]",
    "[Function gen]",
  ]);
});

test("turns NaN and the infinities into strings and -0 into 0", () => {
  const { out } = convert([NaN, Infinity, -Infinity, -0, 1.5]);
  assert.deepEqual(out, ["NaN", "Infinity", "-Infinity", 0, 1.5]);
  assert.ok(Object.is((out as number[])[3], 0));
});

test("turns undefined into null in arrays and at the top, and drops it from objects", () => {
  assert.deepEqual(convert([undefined, 1]).out, [null, 1]);
  assert.deepEqual(convert({ a: undefined, b: 1 }).out, { b: 1 });
  assert.equal(convert(undefined).out, null);
});

test("turns Dates into ISO strings and an invalid Date into Invalid Date", () => {
  assert.deepEqual(convert([new Date(0), new Date("nope")]).out, ["1970-01-01T00:00:00.000Z", "Invalid Date"]);
});

test("turns a Map into [key, value] pairs, object keys included", () => {
  const map = new Map<unknown, unknown>([
    ["a", 1],
    [{ k: 1 }, new Set([2])],
  ]);
  assert.deepEqual(convert(map).out, [
    ["a", 1],
    [{ k: 1 }, [2]],
  ]);
});

test("turns a Set into an array", () => {
  assert.deepEqual(convert(new Set([1, "two", 3n])).out, [1, "two", "3"]);
});

test("summarizes typed arrays, Buffers, ArrayBuffers and DataViews by size", () => {
  const { out } = convert([
    new Uint8Array(1024),
    Buffer.from("hello"),
    new Float64Array(3),
    new ArrayBuffer(16),
    new DataView(new ArrayBuffer(8)),
  ]);
  assert.deepEqual(out, ["[Uint8Array(1024)]", "[Buffer(5)]", "[Float64Array(3)]", "[ArrayBuffer(16)]", "[DataView(8)]"]);
});

test("turns an Error into name, message, stack, own fields and cause", () => {
  const cause = new TypeError("inner");
  const error = Object.assign(new Error("outer", { cause }), { code: "E_OUT", errno: -2 });
  const out = convert(error).out as Record<string, unknown>;
  assert.equal(out["name"], "Error");
  assert.equal(out["message"], "outer");
  assert.match(String(out["stack"]), /^Error: outer\n\s+at /);
  assert.equal(out["code"], "E_OUT");
  assert.equal(out["errno"], -2);
  assert.equal((out["cause"] as Record<string, unknown>)["message"], "inner");
});

test("keeps the members of an AggregateError", () => {
  const out = convert(new AggregateError([new Error("one"), "two"], "both")).out as Record<string, unknown>;
  const errors = out["errors"] as unknown[];
  assert.equal((errors[0] as Record<string, unknown>)["message"], "one");
  assert.equal(errors[1], "two");
});

test("keeps a class instance's own enumerable fields", () => {
  class Point {
    hidden = 0;
    constructor(
      public x: number,
      public y: number,
    ) {
      Object.defineProperty(this, "hidden", { enumerable: false });
    }
    get sum(): number {
      return this.x + this.y;
    }
  }
  assert.deepEqual(convert(new Point(1, 2)).out, { x: 1, y: 2 });
});

test("turns a Proxy whose traps throw into markers and counts the errors", () => {
  const hostile = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error("no keys");
      },
    },
  );
  const getter = new Proxy({ a: 1, b: 2 }, {
    get(_target, key) {
      if (key === "a") throw new Error("no a");
      return 2;
    },
  });
  const { out, counts } = convert({ hostile, getter });
  assert.deepEqual(out, { hostile: { "...": "[Threw: no keys]" }, getter: { a: "[Threw: no a]", b: 2 } });
  assert.ok(counts.errors >= 2);
});

test("turns a revoked Proxy into a marker", () => {
  const { proxy, revoke } = Proxy.revocable([], {});
  revoke();
  const { out, counts } = convert({ proxy });
  assert.match(String((out as Record<string, unknown>)["proxy"]), /^\[Threw: /);
  assert.equal(counts.errors, 1);
});

test("turns a getter that throws into a marker and keeps the other fields", () => {
  const value = {
    ok: 1,
    get bad(): never {
      throw new RangeError("boom");
    },
  };
  const { out, counts } = convert(value);
  assert.deepEqual(out, { ok: 1, bad: "[Threw: boom]" });
  assert.equal(counts.errors, 1);
});

test("uses toJSON, and the object's fields when toJSON throws", () => {
  const good = { toJSON: () => ({ replaced: true }) };
  const bad = {
    a: 1,
    toJSON(): never {
      throw new Error("no");
    },
  };
  const { out, counts } = convert({ good, bad });
  assert.deepEqual(out, { good: { replaced: true }, bad: { a: 1, toJSON: "[Function toJSON]" } });
  assert.equal(counts.errors, 1);
});

test("walks an object whose toJSON returns itself once", () => {
  const self: Record<string, unknown> = { a: 1 };
  self["toJSON"] = function (this: unknown) {
    return this;
  };
  assert.deepEqual(convert(self).out, { a: 1, toJSON: "[Function (anonymous)]" });
});

test("does not call toJSON on the value a toJSON returned", () => {
  const inner = { b: 2, toJSON: () => "inner called" };
  assert.deepEqual(convert({ toJSON: () => inner }).out, { b: 2, toJSON: "[Function toJSON]" });
});

test("tags WeakMap, WeakSet, WeakRef and Promise", () => {
  assert.deepEqual(convert([new WeakMap(), new WeakSet(), new WeakRef({}), Promise.resolve(1)]).out, [
    "[WeakMap]",
    "[WeakSet]",
    "[WeakRef]",
    "[Promise]",
  ]);
});

test("unboxes boxed primitives", () => {
  // eslint-disable-next-line no-new-wrappers
  assert.deepEqual(convert([new Number(3), new String("s"), new Boolean(false), Object(7n), Object(Symbol("b"))]).out, [
    3,
    "s",
    false,
    "7",
    "Symbol(b)",
  ]);
});

test("turns a RegExp into its source text", () => {
  assert.deepEqual(convert([/a+b/gi]).out, ["/a+b/gi"]);
});

test("reads objects with a null prototype, __proto__ key included", () => {
  const bare = Object.create(null) as Record<string, unknown>;
  bare["a"] = 1;
  Object.defineProperty(bare, "__proto__", { value: 2, enumerable: true });
  const out = convert(bare).out as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ["a", "__proto__"]);
  assert.equal(out["__proto__"], 2);
});

test("replaces objects past the depth limit with [Depth limit]", () => {
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 10_000; i += 1) deep = { next: deep };
  const { out, counts } = convert(deep, { maxDepth: 3 });
  assert.deepEqual(out, { next: { next: { next: { next: "[Depth limit]" } } } });
  assert.equal(counts.depth, 1);
});

test("cuts long strings with a marker of how many chars were cut", () => {
  const { out, counts } = convert({ s: "x".repeat(100) }, { maxStringLength: 10 });
  assert.deepEqual(out, { s: "xxxxxxxxxx...[cut 90 chars]" });
  assert.equal(counts.strings, 1);
});

test("never splits a surrogate pair when cutting", () => {
  const { out } = convert(`ab😀${"c".repeat(40)}`, { maxStringLength: 3 });
  assert.equal(out, "ab...[cut 42 chars]");
});

test("keeps the first items of a long array and says how many were left out", () => {
  const { out, counts } = convert(Array.from({ length: 1000 }, (_, i) => i), { maxItems: 3 });
  assert.deepEqual(out, [0, 1, 2, "[997 more items]"]);
  assert.equal(counts.items, 1);
});

test("keeps the first keys of a wide object and says how many were left out", () => {
  const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
  const { out, counts } = convert(wide, { maxKeys: 2 });
  assert.deepEqual(out, { k0: 0, k1: 1, "...": "[48 more keys]" });
  assert.equal(counts.keys, 1);
});

test("cuts long keys", () => {
  const { out, counts } = convert({ ["k".repeat(300)]: 1 }, { maxKeyLength: 4 });
  assert.deepEqual(out, { "kkkk...[cut 296 chars]": 1 });
  assert.equal(counts.keyLength, 1);
});

test("stops at the output size limit on a huge graph of shared references", () => {
  let node: unknown[] = ["leaf"];
  for (let i = 0; i < 40; i += 1) node = [node, node]; // 2^40 paths if walked fully
  const { out, counts } = convert(node, { maxDepth: 100, maxOutputLength: 10_000 });
  assert.ok(JSON.stringify(out).length < 20_000);
  assert.ok(counts.size > 0);
});

test("handles a long sparse array without reading every index", () => {
  const sparse: unknown[] = [];
  sparse.length = 2 ** 32 - 1;
  const { out } = convert(sparse, { maxItems: 2 });
  assert.deepEqual(out, [null, null, `[${2 ** 32 - 3} more items]`]);
});

test("leaves a string alone when the marker would not make it shorter", () => {
  const { out, counts } = convert("z".repeat(20), { maxStringLength: 10 });
  assert.equal(out, "z".repeat(20));
  assert.equal(counts.strings, 0);
});

test("uses the defaults when no limits are given", () => {
  const { out } = convert("y".repeat(SAFE_JSON_DEFAULTS.maxStringLength + 100));
  assert.equal(out, `${"y".repeat(SAFE_JSON_DEFAULTS.maxStringLength)}...[cut 100 chars]`);
  assert.equal(SAFE_JSON_DEFAULTS.maxDepth, 10);
});

test("adds cut counts together", () => {
  const a = emptyCutCounts();
  toSafeJson({ s: "z".repeat(50), c: [1, 2, 3] }, { maxStringLength: 5, maxItems: 1 }, a);
  const total = addCutCounts(emptyCutCounts(), a);
  addCutCounts(total, a);
  assert.equal(total.strings, 2);
  assert.equal(total.items, 2);
});

test("keeps scalar attributes and cuts long attribute strings", () => {
  assert.deepEqual(toAttributeValue("short"), { value: "short" });
  assert.deepEqual(toAttributeValue(42), { value: 42 });
  assert.deepEqual(toAttributeValue(false), { value: false });
  const counts = emptyCutCounts();
  assert.deepEqual(toAttributeValue("a".repeat(40), { maxAttributeLength: 4 }, counts), { value: "aaaa...[cut 36 chars]" });
  assert.equal(counts.strings, 1);
});

test("turns odd scalar attributes into strings", () => {
  assert.deepEqual(toAttributeValue(NaN), { value: "NaN" });
  assert.deepEqual(toAttributeValue(-Infinity), { value: "-Infinity" });
  assert.deepEqual(toAttributeValue(10n), { value: "10" });
  assert.deepEqual(toAttributeValue(new Date(0)), { value: "1970-01-01T00:00:00.000Z" });
  assert.deepEqual(toAttributeValue(Symbol("s")), { value: "Symbol(s)" });
  assert.deepEqual(toAttributeValue(new Number(5)), { value: 5 });
});

test("drops null and undefined attributes", () => {
  assert.deepEqual(toAttributeValue(null), {});
  assert.deepEqual(toAttributeValue(undefined), {});
});

test("moves object and array attributes to an annotation", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic["me"] = cyclic;
  assert.deepEqual(toAttributeValue(cyclic), { annotation: { a: 1, me: "[Circular]" } });
  assert.deepEqual(toAttributeValue([1, 2n]), { annotation: [1, "2"] });
});

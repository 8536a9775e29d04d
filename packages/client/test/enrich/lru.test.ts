import { test } from "node:test";
import assert from "node:assert/strict";
import { Lru } from "../../src/enrich/lru.js";

test("past its count the entry used longest ago goes; a get counts as a use", () => {
  const lru = new Lru<string, number>(2);
  lru.set("a", 1);
  lru.set("b", 2);
  assert.equal(lru.get("a"), 1);
  lru.set("c", 3);
  assert.deepEqual([lru.get("a"), lru.get("b"), lru.get("c")], [1, undefined, 3]);
  assert.equal(lru.size, 2);
});

test("past its weight the oldest go until it fits, never the entry just set; setting a key again replaces its weight", () => {
  const lru = new Lru<string, { size: number }>(10, 100, (v) => v.size);
  lru.set("a", { size: 40 });
  lru.set("b", { size: 40 });
  lru.set("a", { size: 10 }); // 50 in all now, a newest
  lru.set("c", { size: 45 }); // 95: all fit
  assert.equal(lru.size, 3);
  lru.set("d", { size: 30 }); // 125: b, the oldest, goes; 85 left
  assert.equal(lru.get("b"), undefined);
  assert.deepEqual([lru.get("a")?.size, lru.get("c")?.size, lru.get("d")?.size], [10, 45, 30]);
  lru.set("huge", { size: 500 }); // over the bound alone: kept, everything else goes
  assert.equal(lru.size, 1);
  assert.equal(lru.get("huge")?.size, 500);
});

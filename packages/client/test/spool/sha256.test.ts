import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { hmacSha256Hex, sha256 } from "../../src/spool/sha256.js";

test("SHA-256 gives node:crypto's digest for every length around the block and padding edges, and for random data", () => {
  for (let length = 0; length <= 200; length++) {
    const data = randomBytes(length);
    assert.equal(Buffer.from(sha256(data)).toString("hex"), createHash("sha256").update(data).digest("hex"), `length ${length}`);
  }
  const big = randomBytes(100_003);
  assert.equal(Buffer.from(sha256(big)).toString("hex"), createHash("sha256").update(big).digest("hex"));
  assert.equal(Buffer.from(sha256(Buffer.from("abc"))).toString("hex"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("HMAC-SHA256 gives RFC 4231's results and node:crypto's for keys of every size and UTF-8 text", () => {
  // RFC 4231, test cases 1, 2 and 6 (a key longer than the block).
  assert.equal(hmacSha256Hex(Buffer.alloc(20, 0x0b), "Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  assert.equal(hmacSha256Hex(Buffer.from("Jefe"), "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  assert.equal(
    hmacSha256Hex(Buffer.alloc(131, 0xaa), "Test Using Larger Than Block-Size Key - Hash Key First"),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  );
  for (const keyLength of [0, 1, 32, 63, 64, 65, 200]) {
    const key = randomBytes(keyLength);
    for (const text of ["", "{}", '{"pid":1,"attributes":{"release":"r-17","ünïcode":"✓ 日本"}}', "x".repeat(1000)]) {
      assert.equal(hmacSha256Hex(key, text), createHmac("sha256", key).update(text, "utf8").digest("hex"));
    }
  }
});

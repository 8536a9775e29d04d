import { test } from "node:test";
import assert from "node:assert/strict";
import { validateReport } from "backtrace-ts-receiver/validate";
import type { ReportBody } from "../../src/body.js";
import { toSafeJson } from "../../src/serialize/safe-json.js";
import { serializeBody, toAttributeValue } from "../../src/serialize/serialize.js";
import { jsonText } from "../../src/payload.js";
import { Gen, prng } from "../helpers/hostile.js";

// Set SERIALIZE_SEED to replay a failure; the seed is printed in every failure message.
const SEEDS = process.env["SERIALIZE_SEED"] ? [Number(process.env["SERIALIZE_SEED"])] : [1, 2, 3, 0xc0ffee];
const VALUES_PER_SEED = 1000;
const VALUES_PER_BODY = 20;


function baseBody(): ReportBody {
  return {
    uuid: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    timestamp: 1_700_000_000,
    lang: "nodejs",
    langVersion: "v20.20.2",
    agent: "backtrace-ts",
    agentVersion: "0.1.0",
    threads: { main: { name: "main", fault: true, stack: [{ funcName: "main", line: 3, column: 1, library: "/app/main.js", sourceCode: "s" }] } },
    mainThread: "main",
    classifiers: ["Error"],
    attributes: { "error.type": "Exception", "error.message": "random" },
    annotations: {},
    sourceCode: { s: { text: "a\nb\nc\nd\ne", startLine: 1, startColumn: 1, path: "/app/main.js", tabWidth: 8 } },
  };
}

function checkValue(value: unknown, body: ReportBody, index: number): void {
  const safe = toSafeJson(value);
  const json = JSON.stringify(safe);
  assert.equal(typeof json, "string");
  assert.deepEqual(JSON.parse(json), safe, "round trip");

  const attribute = toAttributeValue(value);
  if (attribute.value !== undefined) {
    assert.ok(["string", "number", "boolean"].includes(typeof attribute.value));
    assert.ok(typeof attribute.value !== "number" || Number.isFinite(attribute.value));
    body.attributes[`attr.${index}`] = attribute.value;
  }
  if (attribute.annotation !== undefined) {
    assert.deepEqual(JSON.parse(JSON.stringify(attribute.annotation)), attribute.annotation);
    body.annotations[`attr.${index}`] = attribute.annotation;
  }
  body.annotations[`value.${index}`] = safe;
  ((body.annotations["Log"] ??= []) as unknown[]).push({ ts: index, msg: safe });
}

function checkBody(body: ReportBody, budget: number): void {
  const out = serializeBody(body, budget);
  assert.ok(out.bytes <= budget, `${out.bytes} bytes over a budget of ${budget}`);
  assert.equal(out.bytes, Buffer.byteLength(jsonText(out.json)));
  const result = validateReport(JSON.parse(jsonText(out.json)));
  assert.ok(result.valid, result.errors.slice(0, 5).join("\n").slice(0, 2000));
}

for (const seed of SEEDS) {
  test(`hostile values never throw, round-trip, and give valid bodies within budget (seed ${seed})`, () => {
    const gen = new Gen(prng(seed));
    let body = baseBody();
    let step = "start";
    try {
      for (let i = 0; i < VALUES_PER_SEED; i += 1) {
        step = `value ${i}`;
        checkValue(gen.value(4), body, i);
        if ((i + 1) % VALUES_PER_BODY === 0) {
          step = `body ending at value ${i}`;
          checkBody(body, gen.pick([8 * 1024, 64 * 1024, 1024 * 1024]));
          body = baseBody();
        }
      }
      step = "raw values";
      // unconverted values straight into annotations: serializeBody must still give valid JSON
      const raw = baseBody();
      for (let i = 0; i < 50; i += 1) raw.annotations[`raw.${i}`] = gen.value(3);
      checkBody(raw, 64 * 1024);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      assert.fail(`seed ${seed}, ${step}: ${message.slice(0, 3000)}\n(replay with SERIALIZE_SEED=${seed})`);
    }
  });
}

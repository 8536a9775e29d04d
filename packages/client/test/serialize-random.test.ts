import { test } from "node:test";
import assert from "node:assert/strict";
import { validateReport } from "backtrace-ts-receiver/validate";
import type { ReportBody } from "../src/body.js";
import { serializeBody, toAttributeValue, toSafeJson } from "../src/serialize.js";

// Set SERIALIZE_SEED to replay a failure; the seed is printed in every failure message.
const SEEDS = process.env["SERIALIZE_SEED"] ? [Number(process.env["SERIALIZE_SEED"])] : [1, 2, 3, 0xc0ffee];
const VALUES_PER_SEED = 1000;
const VALUES_PER_BODY = 20;

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  private readonly containers: object[] = [];

  constructor(private readonly rand: () => number) {}

  int(max: number): number {
    return Math.floor(this.rand() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  string(): string {
    switch (this.int(6)) {
      case 0:
        return "";
      case 1:
        return "x".repeat(this.int(30_000)); // long
      case 2:
        return "\ud800 lone \udc00 surrogates"; // JSON escapes them
      case 3:
        return "é😀\u0000\n\t\"\\</script>";
      case 4:
        return String.fromCharCode(...Array.from({ length: this.int(40) }, () => this.int(0x10000)));
      default:
        return `s${this.int(1000)}`;
    }
  }

  scalar(): unknown {
    return this.pick([
      () => this.string(),
      () => this.pick([NaN, Infinity, -Infinity, -0, 0, 1.5, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1]),
      () => BigInt(this.int(1e9)) ** 3n,
      () => Symbol(this.pick(["a", "", "long".repeat(100)])),
      () => undefined,
      () => null,
      () => this.rand() < 0.5,
      () => this.pick([function named() {}, () => 1, class Klass {}, async () => {}]),
      () => new Date(this.pick([0, NaN, 8.64e15, -1])),
      () => this.pick([new Uint8Array(this.int(5000)), Buffer.alloc(this.int(100)), new Float32Array(3), new BigInt64Array(2)]),
      () => this.pick([new ArrayBuffer(8), new DataView(new ArrayBuffer(4)), new SharedArrayBuffer(2)]),
      () => this.pick([new WeakMap(), new WeakSet(), Promise.resolve(1), new WeakRef({})]),
      () => this.pick([new Number(1), new String("boxed"), new Boolean(true), Object(5n), Object(Symbol("box"))]),
      () => /re(g)ex/gimsuy,
    ])();
  }

  /** A hostile value nested up to `depth` containers deep. */
  value(depth: number): unknown {
    if (depth <= 0 || this.rand() < 0.3) return this.scalar();
    if (this.containers.length > 0 && this.rand() < 0.1) return this.pick(this.containers); // cycle or shared reference
    const kind = this.int(14);
    const child = (): unknown => this.value(depth - 1);
    let out: object;
    switch (kind) {
      case 0:
        out = Array.from({ length: this.int(8) }, child);
        break;
      case 1:
        out = Array.from({ length: this.pick([300, 3000]) }, (_, i) => (i % 97 === 0 ? child() : i));
        break;
      case 2:
        out = Object.fromEntries(Array.from({ length: this.int(8) }, () => [this.string().slice(0, 600), child()]));
        break;
      case 3:
        out = Object.fromEntries(Array.from({ length: this.pick([300, 2000]) }, (_, i) => [`k${i}`, i]));
        break;
      case 4:
        out = new Map<unknown, unknown>(Array.from({ length: this.int(5) }, () => [child(), child()]));
        break;
      case 5:
        out = new Set(Array.from({ length: this.int(5) }, child));
        break;
      case 6: {
        const error = this.rand() < 0.5 ? new TypeError(this.string(), { cause: child() }) : new AggregateError([child(), new Error("m")], "agg");
        out = Object.assign(error, { code: "E_X", extra: child() });
        break;
      }
      case 7: {
        class Thing {
          constructor(public a: unknown) {}
        }
        out = new Thing(child());
        break;
      }
      case 8:
        out = this.proxy(child());
        break;
      case 9:
        out = Object.defineProperty({ ok: child() }, "bad", {
          enumerable: true,
          get() {
            throw new Error("getter");
          },
        });
        break;
      case 10: {
        const mode = this.int(3);
        const inner = child();
        out = {
          data: inner,
          toJSON(this: unknown): unknown {
            if (mode === 0) throw new Error("toJSON");
            return mode === 1 ? this : inner;
          },
        };
        break;
      }
      case 11: {
        const bare = Object.create(null) as Record<string, unknown>;
        Object.defineProperty(bare, "__proto__", { value: child(), enumerable: true });
        bare["x"] = child();
        out = bare;
        break;
      }
      case 12: {
        let chain: unknown = child();
        for (let i = 0; i < this.int(400); i += 1) chain = this.rand() < 0.5 ? [chain] : { n: chain };
        out = { chain };
        break;
      }
      default: {
        const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
        revoke();
        out = { revoked: proxy };
      }
    }
    this.containers.push(out);
    return out;
  }

  proxy(target: unknown): object {
    const base = typeof target === "object" && target !== null ? target : { target };
    const throwing = this.pick(["get", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf", "has", "none"]);
    const handler: ProxyHandler<object> = {};
    if (throwing !== "none") {
      (handler as Record<string, () => never>)[throwing] = () => {
        throw new Error(`trap ${throwing}`);
      };
    }
    return new Proxy(base, handler);
  }
}

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
  assert.equal(out.bytes, Buffer.byteLength(out.json));
  const result = validateReport(JSON.parse(out.json));
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

// Hostile values for randomized tests: a seeded generator of every awkward thing a user can pass.

/** mulberry32: a small deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
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

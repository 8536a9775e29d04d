import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blameVariable, readEnvOptions, withEnvOptions } from "../../src/integrations/env.js";
import { BacktraceClient, BacktraceConfigError, initialize, finalize } from "../../src/index.js";

const noPackage = mkdtempSync(join(tmpdir(), "bt-env-"));
test.after(() => rmSync(noPackage, { recursive: true, force: true }));

test("reads every BACKTRACE_* variable into its option", () => {
  const { options, sources } = readEnvOptions(
    {
      BACKTRACE_ENDPOINT: " http://127.0.0.1:1 ",
      BACKTRACE_TOKEN: "tok",
      BACKTRACE_ATTRIBUTES: '{"service":"api","n":2}',
      BACKTRACE_DEBUG: "yes",
      BACKTRACE_TIMEOUT: "2.5",
      BACKTRACE_EXIT_TIMEOUT: "1",
      BACKTRACE_DISABLE_GLOBAL_HANDLER: "1",
      BACKTRACE_SPOOL: "/var/spool/bt",
      BACKTRACE_PROXY: "http://proxy:3128",
      BACKTRACE_STALL_THRESHOLD: "2",
      BACKTRACE_RATE_LIMIT: "600",
      BACKTRACE_SAMPLE_RATE: "0.25",
    },
    noPackage,
  );
  assert.deepEqual(options, {
    endpoint: "http://127.0.0.1:1",
    token: "tok",
    attributes: { service: "api", n: 2 },
    debugBacktrace: true,
    timeout: 2.5,
    exitTimeout: 1,
    disableGlobalHandler: true,
    spool: "/var/spool/bt",
    proxy: "http://proxy:3128",
    stallThreshold: 2,
    rateLimit: 600,
    sampleRate: 0.25,
  });
  assert.equal(sources.timeout, "BACKTRACE_TIMEOUT");
});

test("'false' words turn the spool and the proxy off; empty variables count as unset", () => {
  const { options } = readEnvOptions({ BACKTRACE_SPOOL: "off", BACKTRACE_PROXY: "false", BACKTRACE_TOKEN: "", BACKTRACE_DEBUG: "" }, noPackage);
  assert.deepEqual(options, { spool: false, proxy: false, attributes: {} });
});

test("application and application.version come from the working folder's package.json unless given", () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-env-pkg-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "shop", version: "3.1.0" }));
    assert.deepEqual(readEnvOptions({}, dir).options.attributes, { application: "shop", "application.version": "3.1.0" });
    const given = readEnvOptions({ BACKTRACE_ATTRIBUTES: '{"application":"mine"}' }, dir).options.attributes;
    assert.deepEqual(given, { application: "mine", "application.version": "3.1.0" });
    writeFileSync(join(dir, "package.json"), "{ not json");
    assert.deepEqual(readEnvOptions({}, dir).options.attributes, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [variable, value, code] of [
  ["BACKTRACE_ATTRIBUTES", "{bad", "BT_INVALID_OPTION"],
  ["BACKTRACE_ATTRIBUTES", "[1,2]", "BT_INVALID_OPTION"],
  ["BACKTRACE_DEBUG", "maybe", "BT_INVALID_OPTION"],
  ["BACKTRACE_TIMEOUT", "soon", "BT_INVALID_NUMBER"],
  ["BACKTRACE_EXIT_TIMEOUT", "-1", "BT_INVALID_NUMBER"],
  ["BACKTRACE_DISABLE_GLOBAL_HANDLER", "2", "BT_INVALID_OPTION"],
  ["BACKTRACE_STALL_THRESHOLD", "soon", "BT_INVALID_NUMBER"],
  ["BACKTRACE_RATE_LIMIT", "lots", "BT_INVALID_NUMBER"],
  ["BACKTRACE_SAMPLE_RATE", "half", "BT_INVALID_NUMBER"],
] as const) {
  test(`${variable}=${value} fails with a BacktraceConfigError naming the variable, not echoing the value`, () => {
    assert.throws(
      () => readEnvOptions({ [variable]: value }, noPackage),
      (error: unknown) =>
        error instanceof BacktraceConfigError && error.option === variable && error.code === code && error.message.includes(variable) && !error.message.includes(value),
    );
  });
}

/** The error a client made from `env`'s options throws, blamed on the variable that gave the option at fault. */
function blamedError(env: Record<string, string>): unknown {
  const { options, sources } = withEnvOptions(undefined, env, noPackage);
  try {
    new BacktraceClient(options);
  } catch (caught) {
    return blameVariable(caught, sources);
  }
  return undefined;
}

test("an option the client refuses is blamed on the variable that gave it", () => {
  const error = blamedError({ BACKTRACE_ENDPOINT: "ftp://127.0.0.1/", BACKTRACE_TOKEN: "t" });
  assert.ok(error instanceof BacktraceConfigError);
  assert.equal(error.option, "BACKTRACE_ENDPOINT");
  assert.equal(error.code, "BT_INVALID_ENDPOINT");
  // A token missing while the endpoint came from the environment names BACKTRACE_TOKEN.
  const missing = blamedError({ BACKTRACE_ENDPOINT: "http://127.0.0.1:1" });
  assert.ok(missing instanceof BacktraceConfigError && missing.option === "BACKTRACE_TOKEN");
  // A number out of its option's range: the option's own check, blamed on the variable.
  const rate = blamedError({ BACKTRACE_ENDPOINT: "http://127.0.0.1:1", BACKTRACE_TOKEN: "t", BACKTRACE_SAMPLE_RATE: "1.5" });
  assert.ok(rate instanceof BacktraceConfigError && rate.option === "BACKTRACE_SAMPLE_RATE" && rate.code === "BT_INVALID_NUMBER");
});

test("options with an endpoint ignore the environment; without one, given options win over the environment's", () => {
  const env = { BACKTRACE_ENDPOINT: "http://127.0.0.1:1", BACKTRACE_TOKEN: "t", BACKTRACE_TIMEOUT: "9" };
  assert.deepEqual(withEnvOptions({ endpoint: "http://127.0.0.1:2", token: "x" }, env, noPackage).options, { endpoint: "http://127.0.0.1:2", token: "x" });
  const merged = withEnvOptions({ timeout: 1, attributes: { a: 1 } }, env, noPackage);
  assert.deepEqual(merged.options, { endpoint: "http://127.0.0.1:1", token: "t", timeout: 1, attributes: { a: 1 } });
  assert.equal(merged.sources.timeout, undefined);
  assert.throws(() => withEnvOptions({}, {}, noPackage), (e: unknown) => e instanceof BacktraceConfigError && e.code === "BT_INVALID_ENDPOINT" && e.message.includes("BACKTRACE_ENDPOINT"));
});

test("initialize() without options reads the environment", async () => {
  const saved = { ...process.env };
  try {
    process.env["BACKTRACE_ENDPOINT"] = "http://127.0.0.1:1";
    process.env["BACKTRACE_TOKEN"] = "t";
    process.env["BACKTRACE_ATTRIBUTES"] = '{"from":"env"}';
    const client = initialize({ spool: false, disableGlobalHandler: true, breadcrumbs: false });
    assert.equal(client.getAttributes()["from"], "env");
    process.env["BACKTRACE_TIMEOUT"] = "x";
    assert.throws(() => initialize(), (e: unknown) => e instanceof BacktraceConfigError && e.option === "BACKTRACE_TIMEOUT");
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await finalize();
  }
});

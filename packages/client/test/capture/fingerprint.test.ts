// The duplicate fingerprint against a real receiver: what must never merge, and an error that cannot be read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BacktraceClient, type BacktraceOptions } from "../../src/index.js";
import { withReceiver, type Receiver } from "../helpers/http-receiver.js";

function clientFor(receiver: Receiver, options: Partial<BacktraceOptions> = {}): BacktraceClient {
  return new BacktraceClient({ endpoint: `http://127.0.0.1:${receiver.port}`, token: "t0k3n", disableGlobalHandler: true, spool: false, ...options });
}

const duplicateCount = (url: string): number => Number(new URL(url, "http://x").searchParams.get("_mod_duplicate") ?? 1);
const classifiers = (receiver: Receiver): string[] => receiver.requests.map((r) => (r.report as { classifiers: string[] }).classifiers[0]!).sort();

class NotFound extends Error {}
class Conflict extends Error {}

/** Every error made at one place: only what the caller passes differs. */
function made(make: () => Error): Error {
  return make();
}

test("errors of two classes that keep the name Error, thrown from one place, are two reports with their own types", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    await Promise.all([NotFound, Conflict, NotFound].map((Kind) => client.sendException(made(() => new Kind("request failed")))));
    await client.finalize();
    assert.deepEqual(classifiers(receiver), ["Conflict", "NotFound"]);
    assert.deepEqual(receiver.requests.map((r) => duplicateCount(r.url)).sort(), [1, 2], "the two NotFound still merge");
  }));

test("errors whose numeric or boolean fields differ (a status code) are not merged; text fields are normalised", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    const error = (fields: Record<string, unknown>): Error => made(() => Object.assign(new Error("request failed"), fields));
    // One call site for all: only the fields differ.
    const sendAll = (fields: Array<Record<string, unknown>>) => Promise.all(fields.map((f) => client.sendException(error(f))));
    await sendAll([{ statusCode: 404 }, { statusCode: 500 }, { statusCode: "404" }, { retryable: true }, { retryable: false }]);
    await client.flush();
    assert.equal(receiver.requests.length, 5);
    assert.equal(client.counters().merged, 0);
    await sendAll([{ path: "/tmp/upload-1" }, { path: "/tmp/upload-2" }]);
    await client.finalize();
    assert.equal(receiver.requests.length, 6, "text ids still merge");
    assert.equal(client.counters().merged, 1);
  }));

test("errors whose message is not text are not merged (they would read alike)", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    const error = (message: unknown): Error => made(() => Object.assign(new Error("x"), { message }) as Error);
    await Promise.all([{ order: 1 }, { order: 2 }].map((message) => client.sendException(error(message))));
    await client.finalize();
    assert.equal(receiver.requests.length, 2);
    const messages = receiver.requests.map((r) => String((r.report as { attributes: Record<string, unknown> }).attributes["error.message"])).sort();
    assert.match(messages[0]!, /order: 1/);
    assert.match(messages[1]!, /order: 2/);
  }));

test("an error with a field that throws when read is sent, not dropped, while another report waits", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    const hostile = new Error("hostile");
    Object.defineProperty(hostile, "detail", { enumerable: true, get: () => { throw new Error("no reading this"); } });
    const first = client.sendException(new Error("first"));
    const outcome = await client.sendException(hostile);
    await first;
    await client.finalize();
    assert.equal(outcome.status, "sent", JSON.stringify(outcome));
    assert.equal(receiver.requests.length, 2);
    assert.deepEqual(client.counters().discarded, {});
  }));

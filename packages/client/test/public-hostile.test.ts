import { test } from "node:test";
import assert from "node:assert/strict";
import { BacktraceClient, type SendOutcome } from "../src/index.js";
import { Gen, prng } from "./helpers/hostile.js";
import { startReceiver } from "./helpers/http-receiver.js";

// Set PUBLIC_HOSTILE_SEED to replay a failure; the seed is in every failure message.
const SEEDS = process.env["PUBLIC_HOSTILE_SEED"] ? [Number(process.env["PUBLIC_HOSTILE_SEED"])] : [11, 12, 13];
const VALUES_PER_SEED = 400;

for (const seed of SEEDS) {
  test(`hostile values through every public call never throw and every report that arrives is valid (seed ${seed})`, async () => {
    const receiver = await startReceiver();
    const client = new BacktraceClient({
      endpoint: `http://127.0.0.1:${receiver.port}`,
      token: "t",
      disableGlobalHandler: true,
      spool: false,
      contextLineCount: 3,
      queueSize: 5000,
      // Each sent outcome is matched to an arrival by its uuid: duplicates must stay reports of their own.
      aggregateDuplicates: false,
    });
    const gen = new Gen(prng(seed));
    const outcomes: Array<Promise<SendOutcome>> = [];
    try {
      for (let i = 0; i < VALUES_PER_SEED; i++) {
        const value = gen.value(0);
        const other = gen.value(0);
        const where = `seed ${seed}, value ${i}`;
        assert.doesNotThrow(() => {
          switch (i % 4) {
            case 0:
              outcomes.push(client.sendException(value, { attributes: { hostile: other, ["k" + i]: value }, annotations: { hostile: other } }));
              break;
            case 1:
              outcomes.push(client.sendReport(value as string, { attributes: other as Record<string, unknown> }));
              break;
            case 2: {
              const report = client.createReport();
              report.setAttribute("hostile", value).setDictAttributes(other as Record<string, unknown>);
              report.setAnnotation("hostile", value).setDictAnnotations(value as Record<string, unknown>);
              report.log(value);
              report.log(other);
              report.addAttachment(value as string);
              report.setException(other);
              outcomes.push(report.send());
              break;
            }
            default:
              outcomes.push(client.sendException(new Error(String(i)), { annotations: value as Record<string, unknown> }));
          }
        }, where);
      }
      const settled = await Promise.allSettled(outcomes);
      const rejected = settled.filter((s) => s.status === "rejected");
      assert.equal(rejected.length, 0, `seed ${seed}: ${rejected.length} promises rejected`);
      const sent = settled.filter((s) => s.status === "fulfilled" && s.value.status === "sent").length;
      assert.equal(receiver.requests.length, sent, `seed ${seed}: every sent outcome matches an arrival`);
      assert.ok(sent >= VALUES_PER_SEED * 0.9, `seed ${seed}: only ${sent} of ${VALUES_PER_SEED} were sent`);
      receiver.requests.forEach((request, index) => {
        assert.deepEqual(request.validation?.errors, [], `seed ${seed}, arrival ${index}`);
      });
    } finally {
      await client.finalize();
      await receiver.close();
    }
  });
}

// Synthetic Backtrace report bodies for the receiver benchmark: shaped like a Node client's
// report (10 frames, source excerpts, attributes, annotations), about `bytes` long, in one of
// `groups` error groups (the receiver groups by classifier and the top 3 frames).
import { randomUUID } from "node:crypto";

const FILE = "/srv/app/dist/orders/pipeline.js";
const NAMES = ["commitOrder", "writeLedger", "chargePayment", "reserveStock", "computeTax", "applyDiscounts", "priceItems", "normalizeItems", "validateOrder", "parseRequest"];
const CLASSIFIERS = ["StorageError", "TypeError", "RangeError", "Error", "SyntaxError"];

function sourceText(lines, seed) {
  const out = [];
  for (let i = 0; i < lines; i++) out.push(`  const value${seed}_${i} = compute(${i}, "${"x".repeat(20 + ((i * 7) % 30))}");`);
  return out.join("\n");
}

/**
 * One report body as an object. `group` picks the classifier and top frames; padding of the
 * source excerpts brings the JSON to about `bytes` characters.
 */
export function makeBody({ group = 0, bytes = 10_000, uuid = randomUUID(), now = Date.now() } = {}) {
  const classifier = CLASSIFIERS[group % CLASSIFIERS.length];
  const variant = Math.floor(group / CLASSIFIERS.length);
  const stack = NAMES.map((name, i) => ({
    funcName: i < 3 ? `${name}${variant ? `_${variant}` : ""}` : name,
    library: FILE,
    line: 40 + i * 23,
    column: 11,
    sourceCode: "1",
  }));
  const body = {
    uuid,
    timestamp: Math.floor(now / 1000),
    lang: "nodejs",
    langVersion: "v20.20.2",
    agent: "backtrace-ts-bench",
    agentVersion: "1.0.0",
    mainThread: "main",
    threads: { main: { name: "main", fault: true, stack } },
    classifiers: [classifier],
    attributes: {
      application: "bench-app",
      "application.version": "1.0.0",
      hostname: "bench-host",
      "error.type": "Exception",
      "error.message": `write refused for orders/${group}`,
      "process.id": 4242,
      "uname.sysname": "Linux",
      "cpu.count": 2,
    },
    annotations: {
      Environment: { NODE_ENV: "production", TZ: "UTC" },
      Exception: { name: classifier, message: `write refused for orders/${group}`, code: "EROFS" },
    },
    sourceCode: { 1: { path: FILE, text: "", startLine: 1 } },
  };
  const base = JSON.stringify(body).length;
  const sample = sourceText(40, group);
  const perLine = (JSON.stringify(sample).length - 2) / 40;
  body.sourceCode[1].text = sourceText(Math.max(1, Math.round((bytes - base) / perLine)), group);
  return body;
}

// The demo service: reports a handled error, a message and a report with an attachment, then crashes.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bt from "backtrace-ts";
import { chargeCard, placeOrder, type Order } from "./orders.js";

const endpoint = process.argv[2] ?? "http://127.0.0.1:6097";
bt.initialize({
  endpoint,
  token: "demo-token",
  attributes: { "service.name": "checkout", "service.region": "local" },
  contextLineCount: 8,
});

const order: Order = { id: "A-1001", items: [{ sku: "book", quantity: 1, price: 1200 }, { sku: "lamp", quantity: 2, price: 3500 }] };

try {
  placeOrder(order);
} catch (error) {
  const outcome = await bt.sendException(error, { attributes: { "order.id": order.id }, annotations: { order } });
  console.log(`handled error: ${outcome.status}`);
}

const message = await bt.sendReport("checkout service started", { attributes: { "order.count": 1 } });
console.log(`message: ${message.status}`);

const logFile = join(tmpdir(), "checkout-demo.log");
writeFileSync(logFile, "12:00:01 cart opened\n12:00:02 payment started\n");
const report = new bt.BacktraceReport();
report.setException(new Error("payment page timed out"));
report.setAttribute("order.id", order.id);
report.log("payment page opened");
report.log("no answer after 30 s");
report.addAttachment(logFile);
console.log(`report with attachment: ${(await report.send()).status}`);

// Not caught: backtrace-ts reports it before the process ends, and Node exits as it always would.
setTimeout(() => chargeCard(order, 8200), 10);

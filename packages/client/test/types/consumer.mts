// Type test: an ES module application using the published entry point.
import * as bt from "backtrace-ts";
import { BacktraceClient, type BacktraceOptions, type SendOutcome } from "backtrace-ts";

const options: BacktraceOptions = { endpoint: "https://submit.backtrace.io/u/t/json", contextLineCount: 10 };
const client: BacktraceClient = bt.initialize(options);
const outcome: Promise<SendOutcome> = bt.sendException(new Error("x"), { attributes: { a: 1 } });
void outcome.then((o) => (o.status === "sent" ? o.rxid : o.reason));
const report = new bt.BacktraceReport(client).setAttribute("k", "v").setAnnotation("n", { deep: true });
report.log("line");
void report.send();
void client.flush(1);
// @ts-expect-error timeout is a number of seconds
bt.initialize({ endpoint: "x", timeout: "4" });
// @ts-expect-error unknown options are refused
bt.initialize({ endpoint: "x", context_line_count: 3 });

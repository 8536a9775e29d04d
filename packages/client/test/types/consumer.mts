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

// Context around an error: breadcrumbs, scopes, client attributes, in-memory attachments.
const withCrumbs: BacktraceOptions = { endpoint: "x", breadcrumbs: { console: false, maxEntries: 50 }, stackTraceLimit: 30, maxAttachmentBytes: 1024 };
bt.initialize({ endpoint: "x", breadcrumbs: false });
bt.addBreadcrumb("step", { level: "warning", type: "user", attributes: { n: 1 } });
client.addBreadcrumb("step");
const scoped: number = bt.withScope((scope: bt.Scope) => {
  scope.setUser({ id: 1, email: "a@b.c", name: "A" }).setAttribute("k", 1).setAnnotation("n", {}).addBreadcrumb("in scope");
  return 1;
});
void client.withScope(async () => client.sendReport("inside"));
bt.setAttribute("a", 1);
bt.setAttributes({ b: 2 });
bt.removeAttribute("a");
const attributes: Record<string, unknown> = bt.getAttributes();
bt.setAnnotation("c", [1]);
bt.setUser({ id: "u" });
bt.addAttachment("notes.txt", "text");
client.setAttribute("x", 1).setAttributes({}).removeAttribute("x").setAnnotation("y", 2).setUser(null).addAttachment("b.bin", new Uint8Array(2));
report.addAttachment("buf.bin", Buffer.from("x")).addAttachment("/var/log/app.log");
void [withCrumbs, scoped, attributes];
// @ts-expect-error a breadcrumb level is one of Backtrace's
bt.addBreadcrumb("x", { level: "critical" });
// @ts-expect-error breadcrumbs is false or settings, not true
bt.initialize({ endpoint: "x", breadcrumbs: { sentry: true } });

// Framework integrations: each a subpath with its own types.
import { errorHandler, requestHandler } from "backtrace-ts/express";
import { wrapListener } from "backtrace-ts/http";
import { wrapHandler } from "backtrace-ts/lambda";
import { createServer } from "node:http";
const onRequest: (req: { headers: Record<string, string> }, res: { statusCode: number; headersSent: boolean }, next: () => void) => void = requestHandler({ headers: ["user-agent"], clientIp: false });
void onRequest;
void errorHandler({ reportClientErrors: true, client });
createServer(wrapListener((_req, res) => res.end(), { route: () => "/x" }));
const lambda: (event: { id: number }, context: { awsRequestId: string }) => Promise<string> = wrapHandler(async (event: { id: number }) => String(event.id));
void lambda;
// @ts-expect-error the option is reportClientErrors
requestHandler({ report4xx: true });
const scopeNow: bt.Scope | undefined = bt.getCurrentScope();
void scopeNow;
bt.initialize();
import { fastifyPlugin } from "backtrace-ts/fastify";
import { koaMiddleware } from "backtrace-ts/koa";
const plugin = fastifyPlugin({ clientIp: true });
void plugin;
const koa: (ctx: { method: string }, next: () => Promise<unknown>) => Promise<void> = koaMiddleware({ user: (ctx: { state: { user: { id: string } } }) => ctx.state.user });
void koa;

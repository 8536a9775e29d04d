// The stall watchdog's thread: sleeps on shared memory until the main thread misses its stamp for the threshold, then pauses it through the inspector, reads its stack, resumes it, and sends the report itself.
// An entry point of its own kind, a thread's: it runs inside the main bundle, which process/stall.ts loads again in the worker with the
// worker's data handed over (index.ts starts it).
import type { Session } from "node:inspector";
import { lazyInspector } from "../builtins.js";
import { createAssembler } from "../assemble/assemble.js";
import { internalReport } from "../capture/report.js";
import type { Breadcrumb } from "../capture/breadcrumbs.js";
import { decide } from "../deliver/decide.js";
import type { ResolvedOptions } from "../options.js";
import { createSpool } from "../spool/spool.js";
import { postReport } from "../transport/post.js";
import { HANDOVER_KEY, sinceBase, STALL_STAMP, STALLED, STAMP, STOP, type WatchdogData } from "../process/stall-channel.js";

let data: WatchdogData;
let slots: Int32Array;
let assembler: ReturnType<typeof createAssembler>;
const sender = { send: () => Promise.reject(new Error("the watchdog sends its reports itself")) };

/**
 * In the watchdog's thread, the bundle is loaded by the thread's own code (stall.ts), which left its data under
 * HANDOVER_KEY: the watchdog runs. Anywhere else nothing is there and this does nothing.
 */
export function runHandedOverWatchdog(): void {
  const holder = globalThis as Record<symbol, unknown>;
  const handedOver = holder[Symbol.for(HANDOVER_KEY)];
  if (handedOver === undefined) return;
  delete holder[Symbol.for(HANDOVER_KEY)];
  runStallWatchdog(handedOver as WatchdogData);
}

/** The watchdog thread's work, from its start to the STOP the main thread sets. */
function runStallWatchdog(workerData: WatchdogData): void {
  data = workerData;
  slots = new Int32Array(data.shared);
  const options = { ...data.options, beforeSend: undefined } as unknown as ResolvedOptions;
  assembler = createAssembler({ options, debug: () => undefined, onTrimmed: () => undefined });
  watch();
}

interface CallFrame {
  callFrameId: string;
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

interface MainContext {
  attributes?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  breadcrumbs?: Breadcrumb[];
}

/** Sleeps until the main thread's stamp is `thresholdMs` old; never polls: one wake per stamp age, or at STOP. */
function watch(): void {
  for (;;) {
    if (Atomics.load(slots, STOP) !== 0) return;
    const stamp = Atomics.load(slots, STAMP);
    const left = stamp + data.thresholdMs - sinceBase(data.base);
    const reported = Atomics.load(slots, STALLED) === 1 && Atomics.load(slots, STALL_STAMP) === stamp;
    if (left > 0 || reported) {
      // Once per stall: a stall already reported waits for the main thread to stamp again.
      Atomics.wait(slots, STOP, 0, reported ? data.thresholdMs : left);
      continue;
    }
    Atomics.store(slots, STALL_STAMP, stamp);
    Atomics.store(slots, STALLED, 1);
    // The inspector's answers arrive on this thread's event loop: leave the loop, come back when done.
    // The transport's sockets never keep a thread up: this timer does, until the report is out.
    const alive = setInterval(() => undefined, 1000);
    capture(sinceBase(data.base) - stamp)
      .catch(() => undefined)
      .finally(() => {
        clearInterval(alive);
        setImmediate(watch);
      });
    return;
  }
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T))));
}

/** The main thread's frames and context, read while it is paused; the session's end resumes it whatever happens. */
async function pauseMain(): Promise<{ frames: CallFrame[]; context: MainContext }> {
  const session = new (lazyInspector().Session)();
  session.connectToMainThread();
  try {
    // Call frames name their script by id (their url is empty in Node 20): Debugger.enable lists every script first.
    const urls = new Map<string, string>();
    session.on("Debugger.scriptParsed", (message) => {
      const { scriptId, url } = message.params as { scriptId: string; url: string };
      if (url) urls.set(scriptId, url);
    });
    const paused = new Promise<CallFrame[]>((resolve) => session.once("Debugger.paused", (message) => resolve((message.params as { callFrames: CallFrame[] }).callFrames)));
    await post(session, "Debugger.enable");
    await post(session, "Debugger.pause");
    // A main thread that is in native code pauses at its next JavaScript; one that woke meanwhile may never run any.
    let timer: NodeJS.Timeout | undefined;
    const frames = await Promise.race([paused, new Promise<CallFrame[]>((resolve) => (timer = setTimeout(() => resolve([]), 2000)))]);
    clearTimeout(timer);
    let context: MainContext = {};
    if (frames[0] !== undefined) {
      try {
        const expression = `(() => { const f = globalThis[Symbol.for(${JSON.stringify(data.contextKey)})]; return typeof f === "function" ? f() : undefined; })()`;
        const answer = await post<{ result: { value?: unknown } }>(session, "Debugger.evaluateOnCallFrame", { callFrameId: frames[0].callFrameId, expression, returnByValue: true, silent: true });
        if (typeof answer.result.value === "string") context = JSON.parse(answer.result.value) as MainContext;
      } catch {
        // The stack alone is still worth sending.
      }
      await post(session, "Debugger.resume").catch(() => undefined);
    }
    for (const frame of frames) frame.url ||= urls.get(frame.location.scriptId) ?? "";
    return { frames, context };
  } finally {
    session.disconnect();
  }
}

function stackText(frames: CallFrame[], message: string): string {
  const lines = frames.map((f) => `    at ${f.functionName || "<anonymous>"} (${f.url || "<anonymous>"}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1})`);
  return [message, ...lines].join("\n");
}

async function capture(stalledMs: number): Promise<void> {
  const { frames, context } = await pauseMain();
  const seconds = Math.round(stalledMs / 100) / 10;
  const message = `The event loop of the main thread has been blocked for ${seconds} s`;
  const error = new Error(message);
  error.stack = stackText(frames, `EventLoopStall: ${message}`);
  const report = internalReport(sender).setException(error, "Hang");
  report.classifier = "EventLoopStall";
  report.thread = { id: "main", name: "main" };
  report.breadcrumbs = { entries: context.breadcrumbs ?? [], dropped: 0 };
  report.setDictAttributes(context.attributes ?? {});
  report.setDictAnnotations(context.annotations ?? {});
  report.setAttribute("eventLoopStall.seconds", seconds);
  const payload = await assembler.prepare(report);
  if (payload === undefined) return;
  // On disk first: a stall may end in a kill, and the next start sends what is there.
  const spool = data.spoolDir !== undefined ? createSpool({ dir: data.spoolDir }) : undefined;
  const spooled = spool?.writeSync(payload) === true;
  const result = await postReport(data.url, payload, { timeoutMs: data.timeoutMs, ignoreSslCertificate: data.ignoreSslCertificate, proxy: data.proxy, ca: data.ca });
  if (spooled && decide(result, { attempt: 1, maxAttempts: 1, trimmed: false }).action === "sent") spool?.removeSync(payload.uuid);
}

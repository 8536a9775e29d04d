// The stall watchdog's thread: sleeps on shared memory a threshold at a time and pings the main loop when a stall may be on;
// a ping not answered for a threshold is a stall: it pauses the main thread through the inspector, reads its stack, resumes it, and sends the report itself.
// An entry point of its own kind, a thread's: it runs inside the main bundle, which process/stall.ts loads again in the worker with the
// worker's data handed over (index.ts starts it).
import type { Session } from "node:inspector";
import { lazyInspector, lazyWorkers } from "../builtins.js";
import { createAssembler } from "../assemble/assemble.js";
import { internalReport } from "../capture/report.js";
import type { Breadcrumb } from "../capture/breadcrumbs.js";
import { decide } from "../deliver/decide.js";
import type { ResolvedOptions } from "../options.js";
import { createSpool } from "../spool/spool.js";
import { postReport } from "../transport/post.js";
import { openMainThreadProbe, type MainThreadProbe } from "../process/main-thread-probe.js";
import { ANSWERED, LoopWatch, QuietByCpu, REPORTING, sinceBase, STOP, type WatchdogData, type WatchdogMessage } from "../process/stall-channel.js";

let data: WatchdogData;
let slots: Int32Array;
let assembler: ReturnType<typeof createAssembler>;
let loop: LoopWatch;
let probe: MainThreadProbe | undefined;
const sender = { send: () => Promise.reject(new Error("the watchdog sends its reports itself")) };

/** The watchdog thread's work, from its start to the STOP the main thread sets (index.ts calls it with takeHandedOver's data). */
export function runStallWatchdog(workerData: WatchdogData): void {
  data = workerData;
  slots = new Int32Array(data.shared);
  const options = { ...data.options, beforeSend: undefined } as unknown as ResolvedOptions;
  assembler = createAssembler({ options, debug: () => undefined, onTrimmed: () => undefined });
  loop = new LoopWatch(data.thresholdMs);
  probe = openMainThreadProbe();
  // The first ping at once: a loop that never turns after initialize is a stall too.
  tell(loop.start(now()));
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

const stopped = (): boolean => Atomics.load(slots, STOP) !== 0;
const now = (): number => sinceBase(data.base);
const tell = (message: WatchdogMessage): void => lazyWorkers().parentPort?.postMessage(message);

/** The process's CPU time so far in ms (user + system, every thread): one call, no object kept between looks. */
function cpuMs(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

/** How long the watchdog waits for the answer to a ping sent while the main thread sat in an epoll wait not known yet. */
const PROMPT_MS = 50;
/** After that answer, the main thread is read again this often, at most SETTLE_READS times, until it waits again. */
const SETTLE_MS = 0.25;
const SETTLE_READS = 8;

/**
 * How a look knows the main thread is surely not stalled: from its syscall file where Linux has one (one read; an idle
 * main thread is then never pinged), else from the process's CPU time and a ping every few thresholds.
 */
function quietTest(): () => boolean {
  if (probe !== undefined) {
    const where = probe;
    let byCpu: (() => boolean) | undefined;
    return () => {
      if (byCpu !== undefined) return byCpu();
      const reading = where.look();
      if (reading !== "unlearnable") return reading === "idle";
      // The idle wait cannot be learned here: the CPU-time looks from now on, not a ping at every look.
      probe = undefined;
      where.close();
      byCpu = quietByCpu();
      return byCpu();
    };
  }
  return quietByCpu();
}

/** The looks where the main thread cannot be read: from the process's CPU time (QuietByCpu). */
function quietByCpu(): () => boolean {
  const byCpu = new QuietByCpu(data.thresholdMs);
  let before = cpuMs();
  return () => {
    const now = cpuMs();
    const used = now - before;
    before = now;
    return byCpu.quiet(used);
  };
}

/**
 * The ping just sent found the main thread in an epoll wait not known yet. The main loop's own wait is woken by the
 * ping and answers at once; a loop inside a callback (spawnSync's) answers only once it returned. So: wait a little
 * for the answer, and if it came, read the thread again once its loop is back in a wait (see IdleWait.confirm): a few
 * reads within 2 ms, only while the idle wait is being learned.
 */
function learn(ping: number, where: MainThreadProbe): void {
  Atomics.wait(slots, ANSWERED, ping - 1, Math.min(PROMPT_MS, data.thresholdMs / 2));
  if (Atomics.load(slots, ANSWERED) < ping) return;
  for (let read = 0; read < SETTLE_READS; read++) {
    if (Atomics.wait(slots, STOP, 0, SETTLE_MS) !== "timed-out" || stopped()) return;
    if (where.confirm() !== undefined) return;
  }
}

/**
 * Sleeps a threshold at a time (woken early only by STOP); never polls. At each look: the last ping answered; a ping
 * when the main thread may be stalled; a stall when a ping went unanswered. A look is what the watchdog costs an idle
 * process (one wake per threshold), so it does the least it can: one read of the main thread's state (the clock only
 * when a ping is out or goes out), and the ping is a bare number.
 */
function watch(): void {
  const quiet = quietTest();
  const port = lazyWorkers().parentPort;
  for (;;) {
    const timeout = loop.wait(Atomics.load(slots, ANSWERED), now);
    if (Atomics.wait(slots, STOP, 0, timeout) !== "timed-out" || stopped()) return;
    const look = loop.look(Atomics.load(slots, ANSWERED), quiet, now);
    if (look.ping !== undefined) {
      port?.postMessage(look.ping);
      // The look that made this ping found the main thread in an epoll wait not known yet.
      if (probe?.hasCandidate()) learn(look.ping, probe);
    }
    if (look.stalledMs === undefined || look.since === undefined) continue;
    // Until the report is out, an application whose loop empties meanwhile is held open (stall.ts, on beforeExit).
    Atomics.store(slots, REPORTING, 1);
    // Delivered when the main loop turns again, which is the stall's end: the main thread takes its length from there.
    tell({ kind: "stalled", since: look.since });
    // The inspector's answers arrive on this thread's event loop: leave the loop, come back when done.
    // The transport's sockets never keep a thread up: this timer does, until the report is out.
    const alive = setInterval(() => undefined, 1000);
    capture(look.stalledMs)
      .catch(() => undefined)
      .finally(() => {
        clearInterval(alive);
        Atomics.store(slots, REPORTING, 0);
        tell({ kind: "reported" });
        // The report's own work is not the application's: the next look counts from here (watch reads the CPU anew).
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

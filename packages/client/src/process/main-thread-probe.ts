// Where the main thread is, read by the stall watchdog from Linux's /proc/self/task/<pid>/syscall without waking it:
// running, or in which system call. Sitting in the main event loop's own wait is idle, and needs no ping; anything
// else may be a stall. Node's main loop waits in epoll from the same native frame for the whole life of the process,
// and a loop run inside a callback (spawnSync's) waits deeper on the stack, so the idle wait is known by its
// descriptor and stack pointer, learned from the process itself.
import { closeSync, openSync, readSync } from "node:fs";

/** The epoll wait calls by architecture: epoll_wait, epoll_pwait, epoll_pwait2 (x64); epoll_pwait, epoll_pwait2 (arm64). */
const EPOLL_WAITS: Partial<Record<string, readonly number[]>> = { x64: [232, 281, 441], arm64: [22, 441] };

/** One reading of the syscall file. */
export type ThreadState =
  | { kind: "running" }
  /** Blocked outside a system call (a page fault, say). */
  | { kind: "outside" }
  /** In a system call: its number, first argument (the descriptor for epoll) and the user stack pointer. */
  | { kind: "syscall"; nr: number; arg0: bigint; sp: bigint }
  | { kind: "unknown" };

/** Reads one line of the syscall file: "running", "-1 <sp> <pc>" (blocked outside a call), or "<nr> <six args> <sp> <pc>". */
export function parseSyscallLine(line: string): ThreadState {
  const fields = line.trim().split(" ");
  if (fields[0] === "running") return { kind: "running" };
  if (fields[0] === "-1" && fields.length === 3) return { kind: "outside" };
  const nr = Number(fields[0]);
  if (fields.length !== 9 || !Number.isInteger(nr) || nr < 0) return { kind: "unknown" };
  try {
    return { kind: "syscall", nr, arg0: BigInt(fields[1]!), sp: BigInt(fields[7]!) };
  } catch {
    return { kind: "unknown" };
  }
}

/**
 * Which readings are the main loop waiting idle. An epoll wait is a candidate; it becomes the idle wait once it is
 * read again at the next look, with the ping sent at the first answered in between (the loop turned, and came back to
 * the same wait). A wait higher on the stack (a larger stack pointer) replaces a learned one the same way: a wait found
 * inside a callback is always deeper than the loop's own, so the loop's own wins as soon as it is seen.
 */
export class IdleWait {
  private learned: { fd: bigint; sp: bigint } | undefined;
  private candidate: { fd: bigint; sp: bigint } | undefined;

  constructor(private readonly epollWaits: readonly number[]) {}

  /**
   * Is this reading the idle main loop? Called only at looks where the last ping was answered; `pinged` says whether
   * the previous call's answer led to a ping (so that this call comes after the loop answered it).
   */
  idle(state: ThreadState, pinged: boolean): boolean {
    if (state.kind !== "syscall" || !this.epollWaits.includes(state.nr)) {
      this.candidate = undefined;
      return false;
    }
    const wait = { fd: state.arg0, sp: state.sp };
    const same = (other: { fd: bigint; sp: bigint } | undefined): boolean => other !== undefined && other.fd === wait.fd && other.sp === wait.sp;
    if (same(this.learned)) return true;
    if (this.learned !== undefined && wait.sp < this.learned.sp) {
      this.candidate = undefined;
      return false;
    }
    if (pinged && same(this.candidate)) {
      this.learned = wait;
      this.candidate = undefined;
      return true;
    }
    this.candidate = wait;
    return false;
  }
}

export interface MainThreadProbe {
  /** Is the main thread's loop waiting idle now? `pinged`: see IdleWait.idle. */
  idle(pinged: boolean): boolean;
  close(): void;
}

/**
 * Opens the main thread's syscall file once (the main thread's task id is the process id); undefined where there is
 * none or it cannot be read (not Linux, another architecture, a /proc that hides it): the watchdog then falls back to
 * the process's CPU time and a ping every few thresholds. Each look is then one read of that file.
 */
export function openMainThreadProbe(): MainThreadProbe | undefined {
  const epollWaits = EPOLL_WAITS[process.arch];
  if (process.platform !== "linux" || epollWaits === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync(`/proc/self/task/${process.pid}/syscall`, "r");
  } catch {
    return undefined;
  }
  const buffer = Buffer.alloc(256);
  const read = (): number => {
    try {
      return readSync(fd, buffer, 0, buffer.length, 0);
    } catch {
      return 0;
    }
  };
  const state = (length: number): ThreadState => parseSyscallLine(buffer.toString("latin1", 0, length));
  if (state(read()).kind === "unknown") {
    closeSync(fd);
    return undefined;
  }
  const waits = new IdleWait(epollWaits);
  // The idle loop's line is the same at every look while no timer is due (its wait has no timeout then): it is
  // compared as bytes, and only another line is parsed. A look is what an idle process pays: it does the least.
  const idleLine = Buffer.alloc(buffer.length);
  let idleLength = -1;
  return {
    idle(pinged) {
      const length = read();
      if (length === idleLength && buffer.compare(idleLine, 0, length, 0, length) === 0) return true;
      const idle = waits.idle(state(length), pinged);
      if (idle) idleLength = buffer.copy(idleLine, 0, 0, length);
      return idle;
    },
    close: () => closeSync(fd),
  };
}

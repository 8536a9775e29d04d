// Where the main thread is, read by the stall watchdog from Linux's /proc/self/syscall (the thread group leader's:
// the main thread's, whichever thread reads it) without waking it: running, or in which system call. Sitting in the
// main event loop's own wait is idle, and needs no ping; anything else may be a stall. Node's main loop waits in epoll
// from the same native frame for the whole life of the process, and a loop run inside a callback (spawnSync's) waits
// deeper on the stack, so the idle wait is known by its descriptor and stack pointer, learned from the process
// itself: a wait that a ping wakes at once.
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
 * What a reading says: the idle main loop; an epoll wait that may be the loop's (not learned yet); anything else; or
 * that the idle wait cannot be learned in this process (LEARN_TRIES prompt answers in a row not confirmed, with none
 * learned): the watchdog then looks as where there is no syscall file, rather than ping at every look.
 */
export type Reading = "idle" | "candidate" | "other" | "unlearnable";

/** Confirmations that fail in a row, with no wait learned, before the idle wait is given up on. */
export const LEARN_TRIES = 8;

type Wait = { fd: bigint; sp: bigint };

/**
 * Which readings are the main loop waiting idle. An epoll wait not known yet is a candidate. It is learned only from
 * what a loop run inside a callback cannot do: the ping sent while the thread sat in it is answered at once (a ping wakes
 * the main loop's wait; spawnSync's loop answers nothing until it returns), and the thread is read back in the same
 * wait of the same epoll instance right after the answer (`confirm`). Reading the same wait again at a later look proves
 * nothing: spawnSync called again from the same place waits at the same depth on a new epoll opened at the same number.
 * A wait higher on the stack (a larger stack pointer) than a learned one may replace it the same way; a wait at or
 * below it is never idle (a loop inside a callback always waits deeper than the main loop's own).
 */
export class IdleWait {
  private learned: Wait | undefined;
  private candidate: Wait | undefined;
  private failed = 0;

  constructor(private readonly epollWaits: readonly number[]) {}

  private wait(state: ThreadState): Wait | undefined {
    return state.kind === "syscall" && this.epollWaits.includes(state.nr) ? { fd: state.arg0, sp: state.sp } : undefined;
  }

  /** What this reading is; a candidate is kept for `confirm`. */
  look(state: ThreadState): Reading {
    this.candidate = undefined;
    const wait = this.wait(state);
    if (wait === undefined) return "other";
    const learned = this.learned;
    if (learned === undefined && this.failed >= LEARN_TRIES) return "unlearnable";
    if (learned !== undefined && learned.fd === wait.fd && learned.sp === wait.sp) return "idle";
    if (learned !== undefined && wait.sp <= learned.sp) return "other";
    this.candidate = wait;
    return "candidate";
  }

  /**
   * A reading taken right after the ping sent at the last `look` (a candidate) was answered at once. True when the
   * candidate is learned: the thread is back in the same wait, and `sameInstance` says the epoll descriptor still names
   * the instance it named at that look; false when it is elsewhere waiting (the candidate is dropped); undefined while it
   * is not waiting in epoll at all (still running the loop's turn: read again a little later).
   */
  confirm(state: ThreadState, sameInstance: () => boolean): boolean | undefined {
    const candidate = this.candidate;
    if (candidate === undefined) return false;
    const wait = this.wait(state);
    if (wait === undefined) return undefined;
    this.candidate = undefined;
    if (wait.fd !== candidate.fd || wait.sp !== candidate.sp || !sameInstance()) {
      this.failed++;
      return false;
    }
    this.learned = candidate;
    this.failed = 0;
    return true;
  }

  /** The descriptor of the candidate kept by the last `look`. */
  candidateFd(): bigint | undefined {
    return this.candidate?.fd;
  }
}

/**
 * The files an epoll instance watches, from its /proc/self/fdinfo text: inode and device of each, anonymous inodes
 * (eventfd, timerfd, which every instance shares, the epoll's own "ino") left out. A loop made inside a callback
 * watches pipes made with it (its signal pipe at least), so a new instance at the same descriptor number shares none of
 * the files the old one watched, while the main loop's instance keeps its own for its whole life.
 */
export function watchedFiles(text: string): Set<string> {
  const files = new Set<string>();
  const own = /^ino:\s*(\d+)/m.exec(text)?.[1];
  const anonymous = own === undefined ? undefined : Number(own).toString(16);
  for (const match of text.matchAll(/^tfd:.*?\bino:([0-9a-f]+)\s+sdev:([0-9a-f]+)/gm)) {
    if (match[1] !== anonymous) files.add(`${match[1]}:${match[2]}`);
  }
  return files;
}

/** Whether two readings of an epoll's fdinfo share a watched file: the same instance (see watchedFiles). */
export function sharesAFile(before: ReadonlySet<string>, after: ReadonlySet<string> | undefined): boolean {
  if (after === undefined) return false;
  for (const file of before) if (after.has(file)) return true;
  return false;
}

export interface MainThreadProbe {
  /** Where the main thread is now: waiting idle in its loop, in an epoll wait that may be the loop's, or anywhere else. */
  look(): Reading;
  /**
   * Called only right after the ping sent at a "candidate" look was answered at once (within a few ms): reads the thread
   * again, and learns the candidate as the idle wait if the thread is back in it, on the same epoll instance (true);
   * undefined while the thread is not back in any epoll wait yet (call again a little later).
   */
  confirm(): boolean | undefined;
  /** Whether the last `look` found a candidate that `confirm` has not settled yet. */
  hasCandidate(): boolean;
  close(): void;
}

/**
 * Opens the main thread's syscall file once (/proc/self/syscall: the thread group leader's, also in a PID namespace
 * that shares the host's /proc); undefined where there is none or it cannot be read (not Linux, another architecture,
 * a /proc that hides it): the watchdog then falls back to the process's CPU time and a ping every few thresholds.
 * Each look is then one read of that file.
 */
export function openMainThreadProbe(): MainThreadProbe | undefined {
  const epollWaits = EPOLL_WAITS[process.arch];
  if (process.platform !== "linux" || epollWaits === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync("/proc/self/syscall", "r");
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
  // An epoll instance as Linux describes it: the files it watches. At most the first 64 KB are read (a server's main loop
  // may watch thousands of sockets): enough to find a file the two readings share.
  const info = Buffer.alloc(64 * 1024);
  const instance = (fd: bigint | undefined): Set<string> | undefined => {
    if (fd === undefined) return undefined;
    let file: number | undefined;
    try {
      file = openSync(`/proc/self/fdinfo/${fd}`, "r");
      return watchedFiles(info.toString("latin1", 0, readSync(file, info, 0, info.length, 0)));
    } catch {
      return undefined;
    } finally {
      if (file !== undefined) closeSync(file);
    }
  };
  let candidateInstance: Set<string> | undefined;
  // The idle loop's line is the same at every look while no timer is due (its wait has no timeout then): it is
  // compared as bytes, and only another line is parsed. A look is what an idle process pays: it does the least.
  const idleLine = Buffer.alloc(buffer.length);
  let idleLength = -1;
  return {
    look() {
      candidateInstance = undefined;
      const length = read();
      if (length === idleLength && buffer.compare(idleLine, 0, length, 0, length) === 0) return "idle";
      const reading = waits.look(state(length));
      if (reading === "idle") idleLength = buffer.copy(idleLine, 0, 0, length);
      if (reading === "candidate") candidateInstance = instance(waits.candidateFd());
      return reading;
    },
    confirm() {
      const fd = waits.candidateFd();
      const before = candidateInstance;
      const length = read();
      const learned = waits.confirm(state(length), () => before !== undefined && sharesAFile(before, instance(fd)));
      if (learned !== undefined) candidateInstance = undefined;
      if (learned === true) idleLength = buffer.copy(idleLine, 0, 0, length);
      return learned;
    },
    hasCandidate: () => waits.candidateFd() !== undefined,
    close: () => closeSync(fd),
  };
}

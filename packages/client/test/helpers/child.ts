// The one way tests start child processes: node with arguments, our environment without the test runner's, output collected, a few at a time, killed past a deadline.
import { spawn, type ChildProcess } from "node:child_process";

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Date.now() when the process had exited. */
  exitedAt: number;
}

export interface ChildOptions {
  cwd?: string;
  /** Added to the environment; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** A pipe for standard input (written by the test); ignored otherwise. */
  stdin?: boolean;
  /** Run as this user and group (the tests run as root). */
  uid?: number;
  gid?: number;
}

/** The environment of a child: ours without NODE_OPTIONS or the test runner's variables, plus `env`. */
export function childEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  delete out["NODE_OPTIONS"];
  delete out["NODE_TEST_CONTEXT"];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** Starts `node args...`. */
export function startNode(args: string[], options: ChildOptions = {}): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
}

/** Collects a started child's output until it ends; past `timeoutMs` it is killed (the result's signal says so). */
export function collect(child: ChildProcess, timeoutMs = 20_000): Promise<ChildResult> {
  return new Promise<ChildResult>((resolve) => {
    let stdout = "";
    let stderr = "";
    let exitedAt = 0;
    const guard = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", () => (exitedAt = Date.now()));
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, exitedAt });
    });
  });
}

/** Limits how many children run at once (the machine may have two cores). */
function createPool(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

const pool = createPool(6);

/** Runs `node args...` to its end, at most six at once (at most `timeoutMs`, then it is killed). */
export function runNode(args: string[], options: ChildOptions = {}, timeoutMs = 20_000): Promise<ChildResult> {
  return pool(() => collect(startNode(args, options), timeoutMs));
}

/** Runs another program (npm, say) to its end, with the same environment rules, at most `timeoutMs`. */
export function runProgram(command: string, args: string[], options: ChildOptions = {}, timeoutMs = 120_000): Promise<ChildResult> {
  const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  return pool(() => collect(child, timeoutMs));
}

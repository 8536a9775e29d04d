// A real forward proxy for the tests: Debian's tinyproxy, started on 127.0.0.1 with its own config in a temporary folder.
import type { TestContext } from "node:test";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reservedPort } from "./ports.js";

export interface Tinyproxy {
  url: string;
  port: number;
  /** Its log: a line per connection and per CONNECT it served. */
  log(): string;
  stop(): Promise<void>;
}

/** A port free now (tinyproxy cannot listen on port 0 itself), one the system hands to no one meanwhile. */
export const freePort = reservedPort;

function binary(): string {
  for (const path of ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]) if (existsSync(path)) return path;
  return "tinyproxy";
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/** Starts tinyproxy (on `port`, or a free one) and waits until it accepts connections; stopped after the test. */
export async function startTinyproxy(t: TestContext, options: { port?: number; basicAuth?: { user: string; pass: string } } = {}): Promise<Tinyproxy> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "bt-tinyproxy-"));
  const logFile = join(dir, "tinyproxy.log");
  const config = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 30",
    "MaxClients 50",
    "LogLevel Connect",
    `LogFile "${logFile}"`,
    "Allow 127.0.0.1",
    // No ConnectPort line: CONNECT is allowed to any port, the test servers' included.
    ...(options.basicAuth ? [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.pass}`] : []),
  ];
  writeFileSync(join(dir, "tinyproxy.conf"), config.join("\n") + "\n");
  const child: ChildProcess = spawn(binary(), ["-d", "-c", join(dir, "tinyproxy.conf")], { stdio: "ignore" });
  let exited = false;
  child.on("exit", () => (exited = true));
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(stop);
  for (let i = 0; !(await listening(port)); i++) {
    if (exited || i > 200) throw new Error(`tinyproxy did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { url: `http://127.0.0.1:${port}`, port, log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""), stop };
}

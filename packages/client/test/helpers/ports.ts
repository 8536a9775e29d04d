// Ports for a server started (or started again) a while after its port is chosen: a port with nothing on it in the
// meantime (an endpoint or a proxy that is down, then back).
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * The lowest port the system picks by itself, for a listen on port 0 and for the local end of an outgoing
 * connection (Linux's ip_local_port_range; 32768 where it cannot be read).
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 4096) return low;
  } catch {
    // Not Linux, or not readable: the usual range.
  }
  return 32768;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A port free now, below the range the system picks ports from. A port from a listen on port 0, once released,
 * may be handed to any later listen on port 0 or outgoing connection, in this process or another (measured here: once
 * in about 8,000 listens), and the server meant to come back on it then cannot; nothing takes this one by itself.
 */
export async function reservedPort(): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(4096, high - 12_000);
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${low} and ${high}`);
}

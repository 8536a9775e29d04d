// A server on raw sockets (TCP, or TLS): it reads each request up to the end of its Content-Length body and writes whatever the test says.
import type { TestContext } from "node:test";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";

export interface RawServer {
  url: string;
  server: Server;
  connections: () => number;
  /** Each request as text, head and body. */
  requests: string[];
}

/** Answers request `i` with `answer(i, socket)` (nothing when it returns undefined); with `tls`, over TLS. */
export async function rawServer(
  t: TestContext,
  answer: (i: number, socket: Socket) => string | undefined,
  tls?: { key: string; cert: string },
): Promise<RawServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const onSocket = (socket: Socket): void => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.toString("latin1", 0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        requests.push(buffered.toString("utf8", 0, end + 4 + length));
        buffered = buffered.subarray(end + 4 + length);
        const reply = answer(requests.length - 1, socket);
        if (reply !== undefined) socket.write(reply);
      }
    });
    socket.on("error", () => undefined);
  };
  const server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, onSocket) : createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return { url: `${tls ? "https" : "http"}://127.0.0.1:${port}/post`, server, connections: () => connections, requests };
}

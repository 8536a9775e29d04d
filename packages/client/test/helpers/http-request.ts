// Requests to a test server on 127.0.0.1 (node:http, so that any header, cookies included, can be sent), and the wait for a child's first output line.
import http from "node:http";
import type { ChildProcess } from "node:child_process";

export interface Answer {
  status: number;
  body: string;
}

export function request(port: number, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The first line a child prints on stdout (a fixture server prints its port). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const at = text.indexOf("\n");
      if (at >= 0) resolve(text.slice(0, at));
    });
    child.on("close", () => reject(new Error(`the child ended before printing a line: ${text}`)));
  });
}

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeBody, send, submitUrl, tempDir } from "./helpers.js";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const viewerUrl = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      const match = /viewer:\s+(http:\/\/\S+?)\/?\n/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`exited before printing the viewer URL: ${stdout}${stderr}`)));
  });
  return { child, exited, viewerUrl, output: () => ({ stdout, stderr }) };
}

test("the command prints its viewer URL, stores what is posted, and exits 0 on SIGINT", { timeout: 30_000 }, async () => {
  assert.ok(existsSync(cli), "build first: npx tsc -p tsconfig.build.json");
  const dir = tempDir();
  const db = join(dir, "cli.sqlite");
  const running = run(["--port", "0", "--db", db, "--token", "cli-token"]);
  const url = await running.viewerUrl;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const body = nodeBody();
  const reply = await send(submitUrl(url, "cli-token"), JSON.stringify(body));
  assert.equal(reply.status, 200, reply.text);
  assert.equal((await send(submitUrl(url, "other"), JSON.stringify(body))).status, 403);
  const page = await send(`${url}/`);
  assert.match(page.text, /Error groups/);
  running.child.kill("SIGINT");
  assert.equal(await running.exited, 0, running.output().stderr);
  assert.match(running.output().stdout, /database: .*cli\.sqlite/);
  assert.match(running.output().stdout, new RegExp(`report \\S+ Error uuid=${body.uuid}`));
  assert.ok(existsSync(db));
});

test("the command stops on SIGTERM too", { timeout: 30_000 }, async () => {
  const running = run(["--port", "0", "--db", join(tempDir(), "t.sqlite")]);
  await running.viewerUrl;
  assert.match(running.output().stdout, /any token is accepted/);
  running.child.kill("SIGTERM");
  assert.equal(await running.exited, 0, JSON.stringify(running.output()));
});

test("the command fails with exit code 2 and a clear message on bad flags", { timeout: 30_000 }, async () => {
  for (const [args, message] of [
    [["--bogus"], /Unknown option '--bogus'/],
    [["--port", "abc"], /--port must be a whole number/],
    [["--port", "99999"], /port must be an integer from 0 to 65535/],
    [["--max-body", "lots"], /--max-body must be a number of bytes/],
    [["--host", "0.0.0.0", "--port", "0"], /refusing to listen on 0\.0\.0\.0 without a viewer token.*--allow-unprotected/],
    [["--allow-origin", "localhost:3000"], /--allow-origin\) entries must be origins/],
  ] as const) {
    const running = run([...args]);
    running.viewerUrl.catch(() => {});
    assert.equal(await running.exited, 2, args.join(" "));
    assert.match(running.output().stderr, message);
  }
});

test("--help prints the usage and exits 0", { timeout: 30_000 }, async () => {
  const running = run(["--help"]);
  running.viewerUrl.catch(() => {});
  assert.equal(await running.exited, 0);
  assert.match(running.output().stdout, /Usage: backtrace-ts-receiver/);
  assert.match(running.output().stdout, /--max-body/);
});

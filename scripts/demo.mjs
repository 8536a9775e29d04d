// The demo: starts the local receiver, runs the example app (which reports three things, then crashes),
// and leaves the receiver running so the reports can be looked at in a browser.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startReceiver } from "backtrace-ts-receiver";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const index = args.indexOf(name);
  return index >= 0 && args[index + 1] ? args[index + 1] : fallback;
};
const port = Number(flag("--port", "6097"));
const db = flag("--db", undefined);

let receiver;
try {
  receiver = await startReceiver({ port, host: "127.0.0.1", ...(db ? { db } : {}) });
} catch (error) {
  console.error(`Could not start the receiver on port ${port}: ${error.message}`);
  console.error("Is another receiver running? Try: npm start -- --port 7000");
  process.exit(1);
}
console.log(`receiver listening on ${receiver.url}`);

const app = fileURLToPath(new URL("../examples/dist/app.js", import.meta.url));
console.log("running the example app (it ends with an uncaught exception, on purpose):\n");
const child = spawn(process.execPath, [app, receiver.url], { stdio: "inherit" });
const code = await new Promise((resolve) => child.on("exit", (exitCode) => resolve(exitCode)));
console.log(`\nthe example app exited with code ${code}, as Node does after an uncaught exception.`);
console.log(`\nOpen the viewer: ${receiver.url}/`);
console.log("Press Ctrl-C to stop the receiver.");

const stop = async () => {
  await receiver.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

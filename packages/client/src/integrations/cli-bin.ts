#!/usr/bin/env node
// The `backtrace-ts` command's entry (dist/cli.mjs): the command runs in the main bundle, which sits next to this file.
import { createRequire } from "node:module";
import { CLI_KEY } from "./cli-handover.js";

// A name in a variable keeps the main bundle out of this one.
const entry: string = "./index.cjs";
const load = createRequire(import.meta.url);
const holder = globalThis as Record<symbol, unknown>;
holder[Symbol.for(CLI_KEY)] = true;
load(entry);
// The mark still there: the main bundle was loaded before this file ran (a preload in NODE_OPTIONS, such as
// `--require backtrace-ts/register` with BACKTRACE_ENDPOINT set), so it never looked. A copy of its own runs the command.
if (holder[Symbol.for(CLI_KEY)] === true) {
  delete load.cache[load.resolve(entry)];
  load(entry);
}

#!/usr/bin/env node
// The `backtrace-ts` command's entry (dist/cli.mjs): the command runs in the main bundle, which sits next to this file.
import { createRequire } from "node:module";
import { CLI_KEY } from "./cli-handover.js";

// A name in a variable keeps the main bundle out of this one.
const entry: string = "./index.cjs";
(globalThis as Record<symbol, unknown>)[Symbol.for(CLI_KEY)] = true;
createRequire(import.meta.url)(entry);

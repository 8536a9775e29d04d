// The stall watchdog's thread and the command line tool, loaded in that thread or that command only: in the build they
// are in the second file (scripts/build.mjs).
import { runStallWatchdog } from "./stall-watchdog.js";
import { runCommandLine } from "./cli.js";

export const loadStallWatchdog = () => ({ runStallWatchdog });
export const loadCli = () => ({ runCommandLine });

// The stall watchdog's thread, loaded in that thread only: in the build it is in the second file (scripts/build.mjs).
import { runStallWatchdog } from "./stall-watchdog.js";

export const loadStallWatchdog = () => ({ runStallWatchdog });

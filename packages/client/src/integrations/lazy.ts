// The stall watchdog's thread, loaded in that thread only: in the build it is in the second file (scripts/build.mjs).
import * as stallWatchdog from "./stall-watchdog.js";

export const loadStallWatchdog = (): typeof stallWatchdog => stallWatchdog;

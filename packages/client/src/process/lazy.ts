// The replay of fatal-error reports (loaded when the spool's fatal/ folder holds one) and the stall watchdog's main-thread
// side (loaded when it is on): in the build these modules are in the second file (scripts/build.mjs).
import { replayFatalReports } from "./fatal-replay.js";
import { stallContext, startStallWatchdog } from "./stall.js";

export const loadFatalReplay = () => ({ replayFatalReports });
export const loadStall = () => ({ stallContext, startStallWatchdog });

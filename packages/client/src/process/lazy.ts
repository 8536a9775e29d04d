// The replay of fatal-error reports (loaded when the spool's fatal/ folder holds one), the stall watchdog's main-thread
// side (loaded when it is on) and the crash report's way out (at a crash, which builds its report from the second file
// too): in the build these modules are in the second file (scripts/build.mjs).
import { replayFatalReports } from "./fatal-replay.js";
import { stallContext, startStallWatchdog } from "./stall.js";
import { deliverFatal } from "./fatal.js";

export const loadFatalReplay = () => ({ replayFatalReports });
export const loadStall = () => ({ stallContext, startStallWatchdog });
export const loadFatal = () => ({ deliverFatal });

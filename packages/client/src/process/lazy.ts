// The replay of fatal-error reports, loaded when the spool's fatal/ folder holds one: in the build it is in the second file (scripts/build.mjs).
import * as fatalReplay from "./fatal-replay.js";

export const loadFatalReplay = (): typeof fatalReplay => fatalReplay;

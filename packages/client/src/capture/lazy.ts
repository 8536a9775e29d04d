// The duplicate fingerprint, loaded at the first report that may be merged: in the build it is in the second file (scripts/build.mjs).
import { fingerprint } from "./fingerprint.js";

export const loadFingerprint = () => ({ fingerprint });

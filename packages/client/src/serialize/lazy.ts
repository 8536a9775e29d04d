// Serialization and its trim steps, loaded at the first report: in the build these modules are in the second file (scripts/build.mjs).
import { trimSerialized } from "./serialize.js";

export const loadSerialize = () => ({ trimSerialized });

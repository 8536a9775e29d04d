// Source maps, loaded the first time a report is assembled: in the build these modules are in the second file (scripts/build.mjs).
import { createSourceMapper } from "./source-map.js";

export const loadSourceMap = () => ({ createSourceMapper });

// The ES module preload (`node --import backtrace-ts/register`): waits for the client before the application's first line runs.
import { register } from "./register.js";

// The main bundle sits next to this one in dist/; a name in a variable keeps it out of this bundle.
const entry: string = "./index.mjs";
await register(async () => ((await import(entry)) as { initialize: () => unknown }).initialize);

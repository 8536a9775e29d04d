// The CommonJS preload (`node --require backtrace-ts/register`): the client is required synchronously, before the application starts.
import { register } from "./register.js";

// The main bundle sits next to this one in dist/; a name in a variable keeps it out of this bundle.
const entry: string = "./index.cjs";
void register(() => (require(entry) as { initialize: () => unknown }).initialize);

// Requests and the proxy, loaded at the first request (the crash path's blocking POST at the crash): in the build these
// modules are in the second file (scripts/build.mjs).
import { createPool, postReport } from "./post.js";
import { postReportBlocking } from "./blocking-post.js";
import { describeRoute, proxyFor } from "./proxy.js";

export const loadPost = () => ({ createPool, postReport });
export const loadBlockingPost = () => ({ postReportBlocking });
export const loadProxy = () => ({ describeRoute, proxyFor });

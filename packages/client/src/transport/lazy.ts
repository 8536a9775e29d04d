// Requests and the proxy, loaded at the first request (the crash path's blocking POST at the crash): in the build these modules are in the second file (scripts/build.mjs).
import * as post from "./post.js";
import * as blockingPost from "./blocking-post.js";
import * as proxy from "./proxy.js";

export const loadPost = (): typeof post => post;
export const loadBlockingPost = (): typeof blockingPost => blockingPost;
export const loadProxy = (): typeof proxy => proxy;

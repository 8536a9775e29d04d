// The framework integrations, one bundle for the five subpaths (express, fastify, koa, http, lambda): each subpath loads it whole.
export * from "./express.js";
export * from "./fastify.js";
export * from "./koa.js";
export * from "./http.js";
export * from "./lambda.js";

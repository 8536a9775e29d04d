// Type test: a CommonJS application using the published entry point.
import bt = require("backtrace-ts");

const client = new bt.BacktraceClient({ endpoint: "http://127.0.0.1:6097", token: "t", disableGlobalHandler: true });
const counters: number = client.counters().sent;
const isOurs: boolean = bt.isBacktraceError(new Error("x"));
const code: string = bt.ErrorCodes.INVALID_ENDPOINT;
void [counters, isOurs, code];

// Framework integrations through require.
import express = require("backtrace-ts/express");
import lambdaIntegration = require("backtrace-ts/lambda");
void express.requestHandler();
void lambdaIntegration.wrapHandler(async () => 1);

// The agent's name and version as reported in every body; a test keeps VERSION equal to package.json.
export const AGENT = "backtrace-ts";
export const VERSION = "0.1.0";

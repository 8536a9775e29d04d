import { test } from "node:test";
import assert from "node:assert/strict";
import { reportPid } from "../../src/spool/fatal-folder.js";

test("a diagnostic report's name gives its pid; another name gives none", () => {
  const name = "report.20261201.193310.28709.0.001.json";
  assert.equal(reportPid(name), 28709);
  assert.equal(reportPid("report.json"), undefined);
  assert.equal(reportPid("attributes-1-2.json"), undefined);
});

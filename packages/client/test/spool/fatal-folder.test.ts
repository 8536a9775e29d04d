import { test } from "node:test";
import assert from "node:assert/strict";
import { reportPid, reportTime } from "../../src/spool/fatal-folder.js";

test("a diagnostic report's name gives its pid and its local time; another name gives neither", () => {
  const name = "report.20261201.193310.28709.0.001.json";
  assert.equal(reportPid(name), 28709);
  assert.equal(reportTime(name), new Date(2026, 11, 1, 19, 33, 10).getTime());
  assert.equal(reportPid("report.json"), undefined);
  assert.ok(Number.isNaN(reportTime("attributes-1-2.json")));
});

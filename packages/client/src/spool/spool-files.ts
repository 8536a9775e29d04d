// What the files in a spool folder are: a record's name and content, and the name of a claimed record
// with the rule for when its claim is stale. No I/O on files; spool.ts does the reading and writing.
import { processStart, randomHex } from "../builtins.js";
import { jsonBody, jsonText } from "../payload.js";
import type { AttachmentRef, Payload } from "../payload.js";

// `<ms timestamp, 15 digits>-<sequence>-<uuid>.json`: names sort oldest first.
const RECORD = /^(\d{15})-(\d{6})-([A-Za-z0-9-]{1,64})\.json$/;
// A record being sent: renamed so that no other process over the folder sends it too.
// Its name says who claimed it and when: `.claim-<pid>-<process session>-<ms since 1970>-<record>`.
const CLAIM = /^\.claim-(\d+)-([0-9a-f]+)-(\d+)-(.+)$/;
// Tells this process from an earlier one that had the same pid (containers often reuse small pids), the same in all
// its threads (a worker's client must not take the main thread's journal or claims for an ended process's). Made at
// first use: from the system's process start time where it says it (Linux), else random (then per thread).
let session: string | undefined;
/** The session came from the system's process start time (the same in every thread), not from random bytes. */
let sessionOfProcess = false;
// A claim older than this is given back even when its process still runs (a pid reused, a stuck send).
const STALE_CLAIM_MS = 10 * 60 * 1000;

/** A uuid as it may appear in a file name. */
export function safeUuid(uuid: string): string {
  const cleaned = uuid.replace(/[^A-Za-z0-9-]/g, "").slice(0, 64);
  return cleaned || "report";
}

export function recordName(now: number, sequence: number, uuid: string): string {
  return `${String(now).padStart(15, "0")}-${String(sequence).padStart(6, "0")}-${safeUuid(uuid)}.json`;
}

/** The uuid a record's name carries; undefined when the name is not a record's. */
export function recordUuid(file: string): string | undefined {
  return RECORD.exec(file)?.[3];
}

// In-memory attachments travel inside the record as base64 (`data64`); files stay paths, read when sent.
export function recordText(payload: Payload): string {
  const attachments = payload.attachments.map((a) => (a.data === undefined ? { name: a.name, path: a.path } : { name: a.name, data64: a.data.toString("base64") }));
  // `duplicates` only when merged: the `_mod_duplicate` parameter is made again from it when the record is sent.
  const duplicates = payload.duplicates !== undefined && payload.duplicates > 1 ? { duplicates: payload.duplicates } : {};
  return JSON.stringify({ v: 1, uuid: payload.uuid, json: jsonText(payload.json), attachments, ...duplicates });
}

function toAttachment(value: unknown): AttachmentRef | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const name = record["name"];
  if (typeof name !== "string") return undefined;
  if (typeof record["path"] === "string") return { name, path: record["path"] };
  if (typeof record["data64"] === "string") return { name, data: Buffer.from(record["data64"], "base64") };
  return undefined;
}

/** Parses a record file's text; undefined when it is not a v1 record. */
export function parseRecord(text: string): Payload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const attachments = record["attachments"];
  if (record["v"] !== 1 || typeof record["uuid"] !== "string" || typeof record["json"] !== "string") return undefined;
  if (!Array.isArray(attachments)) return undefined;
  const parsed = attachments.map(toAttachment);
  if (!parsed.every((a): a is AttachmentRef => a !== undefined)) return undefined;
  const payload: Payload = { uuid: record["uuid"], json: jsonBody(record["json"]), attachments: parsed };
  const duplicates = record["duplicates"];
  if (typeof duplicates === "number" && Number.isSafeInteger(duplicates) && duplicates > 1) payload.duplicates = duplicates;
  return payload;
}

/** The name a record takes while this process sends it. */
export function claimName(record: string, now: number): string {
  return `.claim-${process.pid}-${processSession()}-${now}-${record}`;
}

/** This process's session: tells it from an earlier process that had the same pid. */
export function processSession(): string {
  if (session === undefined) {
    const start = processStart();
    sessionOfProcess = start !== undefined;
    session = start ?? randomHex(6);
  }
  return session;
}

/**
 * For a file named with this process's pid: true when an earlier process with the same pid made it (its session is
 * not this one's). Where the session is random (not Linux) another thread's differs too, so there the pid alone
 * counts: an earlier process's files are taken once their age says so.
 */
export function earlierProcess(fileSession: string): boolean {
  const own = processSession();
  return sessionOfProcess && fileSession !== own;
}

/** True when a process with this id runs (or exists under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * For a claimed record whose claim should be taken back, the record's own name: its process has
 * ended (or its pid now belongs to a later process), or the claim is older than ten minutes.
 * Undefined for any other file, and for a claim still being worked on.
 */
export function staleClaim(file: string, now: number): string | undefined {
  const claim = CLAIM.exec(file);
  const record = claim?.[4];
  if (!claim || record === undefined || !RECORD.test(record)) return undefined;
  const pid = Number(claim[1]);
  const ended = pid === process.pid ? earlierProcess(claim[2]!) : !processAlive(pid);
  return ended || Number(claim[3]) < now - STALE_CLAIM_MS ? record : undefined;
}

// Building reports (body, serialization, redaction, source lines, attachments) and their journal records, loaded at the
// first report: in the build these modules are in the second file (scripts/build.mjs).
import { createAssembler } from "./assemble.js";
import { duplicatesPatch, journalRecordJson, restoreReport } from "./journal-record.js";

export const loadAssemble = () => ({ createAssembler });
export const loadJournalRecord = () => ({ duplicatesPatch, journalRecordJson, restoreReport });

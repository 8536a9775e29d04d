// One journal per spool folder in a process: clients of one process over one folder share it (its name is the
// process's), so that each settling its own reports never removes or truncates the file while another's are open in it.
import { join, resolve } from "node:path";
import { journalName } from "./journal-format.js";
import { openJournal, type Journal, type JournalOptions } from "./journal.js";

const sharedJournals = new Map<string, { journal: Journal; refs: number }>();

/** The journal this process appends to, in the spool folder. Never throws. */
export function createJournal(options: JournalOptions): Journal {
  const path = join(resolve(options.dir), journalName());
  const found = sharedJournals.get(path);
  if (found) {
    found.refs += 1;
    return handle(path, found);
  }
  const entry = { journal: openJournal(options), refs: 1 };
  sharedJournals.set(path, entry);
  return handle(path, entry);
}

/** One client's hold on a shared journal: closing it closes the journal only when no other client holds it. */
function handle(path: string, entry: { journal: Journal; refs: number }): Journal {
  let closed = false;
  return {
    ...entry.journal,
    close() {
      if (closed) return;
      closed = true;
      entry.refs -= 1;
      if (entry.refs > 0) return;
      sharedJournals.delete(path);
      entry.journal.close();
    },
  };
}

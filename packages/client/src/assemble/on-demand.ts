// The assembler as the client holds it: made at its first use, so that the code that builds reports is loaded then
// (the build's second file), not at initialize.
import type { Assembler, AssemblerConfig } from "./assemble.js";
import { loadAssemble } from "./lazy.js";

/**
 * The assembler, made at its first use (a report, or the default attributes asked for): the code that builds
 * reports is loaded then, not at initialize. Should it fail to load, reports fail (counted) and the defaults are none.
 */
export function assemblerOnDemand(config: AssemblerConfig): Assembler {
  let made: Assembler | undefined;
  const assembler = (): Assembler => (made ??= loadAssemble().createAssembler(config));
  return {
    // Not an async function: returning the assembler's promise from one would cost two more turns per report.
    prepare: (report) => {
      try {
        return assembler().prepare(report);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    prepareSync: (report) => assembler().prepareSync(report),
    baseAttributes: () => {
      let loaded: Assembler;
      try {
        loaded = assembler();
      } catch {
        return {};
      }
      return loaded.baseAttributes();
    },
  };
}

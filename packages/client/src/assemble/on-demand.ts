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
    prepare: async (report) => assembler().prepare(report),
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

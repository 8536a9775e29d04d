// One exchange on its connection: the answer parsed as it comes, the head and body timeouts, and how it ended.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { connectionDefaults } from "../defaults.js";
import { AnswerParser, type Parsed } from "./answer-parser.js";

/** The limits of one connection; see `connectionDefaults` in options.ts. */
export type ConnectionLimits = Omit<typeof connectionDefaults, "maxHeadBytes">;

/** How an exchange on its connection can end: each is called at most once in all. */
export interface Ends {
  succeed(parsed: Parsed): void;
  /** Ends the exchange with an error. */
  fail(error: Error): void;
  /** The connection broke: the exchange may be retried on a fresh one. */
  lost(error: Error): void;
}

/** An exchange on its connection: parses the answer, runs the head and body timeouts, says how it ended. */
export class Active {
  private readonly parser: AnswerParser;
  /** The whole body went out: only then may the connection carry another request. */
  written = false;
  /** A byte of the answer came: the server saw the request, so it is never retried. */
  received = false;
  private inBody = false;

  constructor(
    keepBodyBytes: number,
    private readonly conn: Socket | TLSSocket,
    private readonly limits: ConnectionLimits,
    private readonly ends: Ends,
  ) {
    this.parser = new AnswerParser(keepBodyBytes);
    conn.setTimeout(limits.headTimeoutMs);
  }

  data(chunk: Buffer): void {
    this.received = true;
    let result: Parsed | undefined;
    try {
      result = this.parser.push(chunk);
    } catch (error) {
      return this.ends.fail(error as Error);
    }
    if (result !== undefined) return this.ends.succeed({ ...result, reusable: result.reusable && this.written });
    if (!this.inBody && this.parser.inBody()) {
      this.inBody = true;
      this.conn.setTimeout(this.limits.bodyTimeoutMs);
    }
  }

  timedOut(): void {
    this.ends.fail(
      new Error(this.inBody ? `no answer body bytes for ${this.limits.bodyTimeoutMs} ms` : `no answer head within ${this.limits.headTimeoutMs} ms`),
    );
  }

  lost(error: Error): void {
    this.ends.lost(error);
  }

  ended(): void {
    const answer = this.parser.end();
    if (answer !== undefined) this.ends.succeed({ answer, reusable: false, keepAliveMs: undefined });
  }

  closed(): void {
    const answer = this.parser.end();
    if (answer !== undefined) this.ends.succeed({ answer, reusable: false, keepAliveMs: undefined });
    else this.ends.lost(new Error("the connection closed before the answer"));
  }

  fail(error: Error): void {
    this.ends.fail(error);
  }
}

// Scopes: attributes, annotations, a user and breadcrumbs that hold for one async flow (a request), over AsyncLocalStorage.
import { AsyncLocalStorage } from "node:async_hooks";
import { BreadcrumbStore, type BreadcrumbLimits, type BreadcrumbOptions } from "./breadcrumbs.js";

/** The user a report is about; sent as the attributes `user.id`, `user.email` and `user.name`. */
export interface User {
  id?: string | number | undefined;
  email?: string | undefined;
  name?: string | undefined;
}

/** The attributes a user maps to; a field left out removes its attribute. */
export function userAttributes(user: User | null | undefined): Record<string, unknown> {
  const read = (key: keyof User): unknown => {
    try {
      return user?.[key];
    } catch {
      return undefined;
    }
  };
  return { "user.id": read("id"), "user.email": read("email"), "user.name": read("name") };
}

/** What `withScope` hands its function: changes made through it hold only inside the scope. */
export class Scope {
  /** @internal */ readonly attributes: Record<string, unknown> = {};
  /** @internal */ readonly annotations: Record<string, unknown> = {};
  /** @internal Changes made to the values above so far: a report made at another version may carry other values. */
  version = 0;
  /** @internal Entries added inside this scope (and its async continuations), made on the first one. */
  breadcrumbs: BreadcrumbStore | undefined = undefined;

  /** @internal */
  constructor(
    readonly parent: Scope | undefined,
    private readonly limits: BreadcrumbLimits,
  ) {}

  setAttribute(key: string, value: unknown): this {
    this.version++;
    this.attributes[String(key)] = value;
    return this;
  }

  setAttributes(values: Record<string, unknown>): this {
    this.version++;
    try {
      for (const key of Object.keys(values)) this.attributes[key] = values[key];
    } catch {
      // Values that cannot be read are left out, as everywhere in capture.
    }
    return this;
  }

  /** Hides an attribute of the client (or of an outer scope) from reports made inside this scope. */
  removeAttribute(key: string): this {
    this.version++;
    this.attributes[String(key)] = undefined;
    return this;
  }

  setAnnotation(key: string, value: unknown): this {
    this.version++;
    this.annotations[String(key)] = value;
    return this;
  }

  setUser(user: User | null): this {
    return this.setAttributes(userAttributes(user));
  }

  addBreadcrumb(message: string, options?: BreadcrumbOptions): this {
    this.store().add(message, options);
    return this;
  }

  /** @internal */
  store(): BreadcrumbStore {
    return (this.breadcrumbs ??= new BreadcrumbStore(this.limits));
  }
}

// One storage per process, shared by the ES module and CommonJS builds, like the default client.
const SHARED = Symbol.for("backtrace-ts.scope-storage");
const storage: AsyncLocalStorage<Scope> = ((globalThis as { [SHARED]?: AsyncLocalStorage<Scope> })[SHARED] ??= new AsyncLocalStorage<Scope>());

/** The scope of the running async flow, if any. */
export function currentScope(): Scope | undefined {
  return storage.getStore() ?? escaping.scope;
}

// The scope a synchronous throw is leaving: Node's crash hooks run after it left, outside it, in the same turn.
// Shared like the storage: the integrations are bundles of their own.
const ESCAPING = Symbol.for("backtrace-ts.escaping-scope");
const escaping: { scope: Scope | undefined } = ((globalThis as { [ESCAPING]?: { scope: Scope | undefined } })[ESCAPING] ??= { scope: undefined });

/**
 * Notes that an error is leaving `scope` by a throw (it propagates unchanged), so that the crash report made
 * right after, outside the scope, still carries the scope's context. Forgotten at the next tick.
 */
export function noteEscapingScope(scope: Scope | undefined): void {
  if (scope === undefined) return;
  escaping.scope = scope;
  process.nextTick(() => {
    if (escaping.scope === scope) escaping.scope = undefined;
  });
}

/** Runs `fn` in a new scope over the current one. */
export function runInScope<T>(limits: BreadcrumbLimits, fn: (scope: Scope) => T): T {
  const scope = new Scope(currentScope(), limits);
  return storage.run(scope, fn, scope);
}

/** The scope and its parents, outermost first. */
export function scopeChain(scope: Scope | undefined): Scope[] {
  const chain: Scope[] = [];
  for (let at = scope; at !== undefined; at = at.parent) chain.unshift(at);
  return chain;
}

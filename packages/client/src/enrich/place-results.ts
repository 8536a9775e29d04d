// What was made for a place, reports whose frames are the same frozen frames, kept while what it was made from stays.

interface Kept<T, K> {
  frames: readonly object[];
  key: K;
  generation: number;
  value: T;
}

/**
 * Results by place: the same frames (identical frozen objects, so the same content: see stack.ts), under the same
 * key (the options they were made with), at the same generation of what they were made from (its owner counts every
 * change to it). A hit is what making it again would give; anything else is a miss. A few per first frame, newest kept.
 */
export class PlaceResults<T, K = string> {
  private readonly byFirst = new WeakMap<object, Array<Kept<T, K>>>();

  /** `sameKey` compares two keys (by default, as `===` does); a key kept must not change afterwards. */
  constructor(
    private readonly perFirstFrame = 8,
    private readonly sameKey: (a: K, b: K) => boolean = (a, b) => a === b,
  ) {}

  get(frames: readonly object[], key: K, generation: number): T | undefined {
    const first = frames[0];
    if (first === undefined) return undefined;
    const kept = this.byFirst.get(first);
    if (kept === undefined) return undefined;
    for (const place of kept) if (place.generation === generation && this.sameKey(place.key, key) && sameFrames(place.frames, frames)) return place.value;
    return undefined;
  }

  /** Keeps `value` for frames that are all frozen (others are left alone); places of older generations go. */
  set(frames: readonly object[], key: K, generation: number, value: T): void {
    const first = frames[0];
    if (first === undefined || !frames.every((frame) => Object.isFrozen(frame))) return;
    const kept = (this.byFirst.get(first) ?? []).filter((place) => place.generation === generation);
    if (kept.length >= this.perFirstFrame) kept.shift();
    kept.push({ frames: [...frames], key, generation, value });
    this.byFirst.set(first, kept);
  }
}

function sameFrames(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Delays as Node's timers take them: NaN and negatives are 0, and nothing past 2^31-1 ms (a longer one fires at once, with a warning).

/** The longest delay a Node timer holds, about 24.8 days. */
export const MAX_TIMER_MS = 0x7fffffff;

/** `ms` clamped to what a timer holds. */
export function timerMs(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(MAX_TIMER_MS, ms);
}

/** Seconds given by a caller (maybe NaN, negative or huge) as a timer delay in milliseconds. */
export function secondsToTimerMs(seconds: number): number {
  return timerMs(Number(seconds) * 1000);
}

/** Bounded polling: the one way tests here wait for a condition (never a bare sleep). */

/**
 * Polls `check` every `everyMs` until it returns true, or throws once `ms` have passed. Not a sleep: returns as
 * soon as the check holds. `what` names the condition in the error; a function is asked only on failure, so the
 * message can carry the state at that moment (what was seen, a child's output).
 */
export async function until(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  everyMs = 10,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for: ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

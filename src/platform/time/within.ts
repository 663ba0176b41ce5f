/** Whether `work` ends (either way) within `ms`; the timer does not keep the process alive. */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const ended = work.then(
    () => true,
    () => true,
  );
  return Promise.race([ended, new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
}

/** `work`'s outcome, or a rejection once `ms` have passed without one. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    work,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);
}

// Waiting helpers shared by the behaviour tests. Generous timeouts only: they bound a hang, they time nothing.

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the first value `subscribe` delivers (e.g. an event payload), or rejects after `ms`. */
export function eventually<T>(subscribe: (resolve: (value: T) => void) => void, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Polls `condition` (sync or async) every 10 ms; rejects when it is still false after `ms`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await sleep(10);
  }
}

/** Hands the event loop back once (other requests and /health/live run), then continues. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

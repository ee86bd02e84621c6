/**
 * Clean-up that must happen even if the program exits without stopping what
 * it started (a fake's temporary directory, its child process): kept in one
 * set behind one `exit` listener, however many fakes run.
 */

const pending = new Set<() => void>();
let hookInstalled = false;

function runPending(): void {
  for (const cleanUp of pending) cleanUp();
}

/**
 * Runs `cleanUp` when this process exits, unless it was cancelled before.
 *
 * @param cleanUp - Synchronous (nothing asynchronous runs at exit).
 * @returns Cancels it: call once the thing was stopped properly.
 */
export function cleanUpAtExit(cleanUp: () => void): () => void {
  pending.add(cleanUp);
  if (!hookInstalled) {
    hookInstalled = true;
    process.once('exit', runPending);
  }
  return () => {
    pending.delete(cleanUp);
  };
}

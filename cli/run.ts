/** Something a command started that must be stopped on Ctrl-C or SIGTERM. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Keeps a long-running command alive until SIGINT/SIGTERM, then stops what it started
 * once. A second signal exits at once.
 */
export function stopOnSignal(running: Stoppable, onStopped?: () => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    running.stop().then(
      () => {
        onStopped?.();
        process.exit(process.exitCode ?? 0);
      },
      (err: unknown) => {
        process.stderr.write(`sdfleet: error while stopping after ${signal}: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Parses a whole number flag, with a message that names the flag. */
export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`${name} takes a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

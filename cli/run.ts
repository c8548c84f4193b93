import { writeSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';

/** Something a command started that must be stopped on Ctrl-C or SIGTERM. */
export interface Stoppable {
  stop(): Promise<void>;
  /** What must not outlive the process when it exits without stopping (a second signal): killed at once. */
  abort?(): void;
}

/**
 * Keeps a long-running command alive until SIGINT/SIGTERM, then stops what it started
 * once. A second signal exits at once, after `abort` (the instances' process groups
 * killed: nothing started here is left running).
 */
export function stopOnSignal(running: Stoppable, onStopped?: () => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      try {
        running.abort?.();
      } finally {
        // Synchronous: process.exit does not wait for a write to a pipe.
        writeSync(2, `sdfleet: ${signal} again: exiting now${running.abort ? ' (the instances were killed)' : ''}\n`);
        process.exit(130);
      }
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

/** Parses a whole-number flag, with a message that names the flag and the range. */
export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} takes a whole number from ${min} to ${max}, got "${value}".`);
    }
    return n;
  };
}

/** Parses a duration flag in seconds (decimals allowed, e.g. 0.5). */
export function secondsOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`${name} takes a number of seconds (e.g. 30 or 0.5), got "${value}".`);
    }
    return n;
  };
}

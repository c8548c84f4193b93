import { after } from 'node:test';

/** Something a test file started and must stop. */
export type Closer = () => Promise<void> | void;

/**
 * The file's closers: push what the tests start; after the file's tests they run, the
 * last pushed first (a client before the server it talks to).
 */
export function closedAfterAll(first: Closer[] = []): Closer[] {
  const closers = [...first];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });
  return closers;
}

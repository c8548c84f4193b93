import type { GameServer } from '../agones/types.ts';

/**
 * Where the SDK server keeps the one GameServer it serves. The standalone
 * `sdfleet sdk-server` keeps it in memory (seeded from a file); the embedded control plane
 * gives each of its SDK servers a store over its own object store; both behave alike.
 */
export interface GameServerStore {
  /** The GameServer as stored now; a deep copy the caller may change. Rejects when it is gone. */
  get(): Promise<GameServer>;
  /**
   * Read-modify-write. `mutate` receives a deep copy and returns the object to store, or
   * `undefined` to store nothing. Resolves with the stored object (the current one when
   * nothing changed). Implementations retry `mutate` on a write conflict, so it must be
   * free of side effects.
   */
  update(mutate: (gs: GameServer) => GameServer | undefined): Promise<GameServer>;
  /**
   * Calls `listener` with a copy after every stored change, in order, until the returned
   * function is called. Not called for the current state: read it with `get()` first.
   * `onGone` runs once when the GameServer is deleted.
   */
  watch(listener: (gs: GameServer) => void, onGone?: () => void): () => void;
}

/** A GameServerStore in memory. `replace` stands for a change made from outside the SDK. */
export class MemoryGameServerStore implements GameServerStore {
  #gs: GameServer | undefined;
  #listeners = new Set<{ change: (gs: GameServer) => void; gone: (() => void) | undefined }>();
  #version = 1;

  constructor(initial: GameServer) {
    this.#gs = stamp(structuredClone(initial), this.#version);
  }

  async get(): Promise<GameServer> {
    if (!this.#gs) throw gone();
    return structuredClone(this.#gs);
  }

  async update(mutate: (gs: GameServer) => GameServer | undefined): Promise<GameServer> {
    if (!this.#gs) throw gone();
    const next = mutate(structuredClone(this.#gs));
    if (next === undefined) return structuredClone(this.#gs);
    return this.replace(next);
  }

  /** Stores `gs` as it is, bumping resourceVersion, and tells watchers. */
  replace(gs: GameServer): GameServer {
    this.#version += 1;
    this.#gs = stamp(structuredClone(gs), this.#version);
    const snapshot = this.#gs;
    for (const l of [...this.#listeners]) l.change(structuredClone(snapshot));
    return structuredClone(snapshot);
  }

  /** The GameServer is deleted: reads fail and watchers are told. */
  delete(): void {
    this.#gs = undefined;
    for (const l of [...this.#listeners]) l.gone?.();
    this.#listeners.clear();
  }

  watch(listener: (gs: GameServer) => void, onGone?: () => void): () => void {
    const entry = { change: listener, gone: onGone };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }
}

function stamp(gs: GameServer, version: number): GameServer {
  gs.metadata.resourceVersion = String(version);
  return gs;
}

function gone(): Error {
  return Object.assign(new Error('the GameServer this SDK server serves has been deleted'), { code: 'gone' });
}

import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../common/log.ts';
import type { GameServer, GameServerState } from '../agones/types.ts';
import { SDK_METADATA_PREFIX } from '../agones/types.ts';
import { MemoryGameServerStore } from './store.ts';

/** What `sdfleet sdk-server` serves when no file is given (Agones local mode serves "local"). */
export function defaultGameServer(): GameServer {
  return withDefaults({ metadata: {}, spec: {} });
}

/**
 * Reads a GameServer from a YAML or JSON file (an `agones.dev/v1` GameServer manifest).
 * Fields left out get local defaults: name `local`, namespace `default`, state `Scheduled`,
 * address 127.0.0.1, and each port's hostPort (or containerPort) as its port.
 */
export async function readGameServerFile(path: string): Promise<GameServer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read GameServer file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseGameServer(text, path);
}

export function parseGameServer(text: string, source: string): GameServer {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${source} is not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error(`${source} must hold one GameServer object (apiVersion: agones.dev/v1, kind: GameServer)`);
  }
  const obj = doc as Partial<GameServer> & { kind?: string };
  if (obj.kind !== undefined && obj.kind !== 'GameServer') {
    throw new Error(`${source} holds a ${obj.kind}; the SDK server serves one GameServer (kind: GameServer)`);
  }
  return withDefaults({ ...obj, metadata: obj.metadata ?? {}, spec: obj.spec ?? {} } as GameServer);
}

/** `gs` with the local defaults filled in (see readGameServerFile). */
export function withDefaults(gs: GameServer): GameServer {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ports = (gs.spec.ports ?? []).map((p) => ({ name: p.name, port: p.hostPort ?? p.containerPort ?? 0 }));
  return {
    apiVersion: 'agones.dev/v1',
    kind: 'GameServer',
    ...gs,
    metadata: {
      name: 'local',
      namespace: 'default',
      uid: 'local-0000',
      generation: 1,
      creationTimestamp: now,
      ...gs.metadata,
      labels: { ...gs.metadata.labels },
      annotations: { ...gs.metadata.annotations },
    },
    status: { state: 'Scheduled', address: '127.0.0.1', ports, ...gs.status },
  };
}

/**
 * A store seeded from a file that also follows the file: edit it (say, to set
 * `status.state: Allocated` and a user label) to simulate what the control plane would do.
 * An edit applies the labels, annotations, spec and state the edit changed; values the
 * SDK set (`agones.dev/sdk-…`) stay unless the file sets them.
 */
export class FileBackedStore extends MemoryGameServerStore {
  readonly #path: string;
  readonly #log: Logger;
  #lastFile: GameServer;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;

  constructor(path: string, initial: GameServer, log: Logger) {
    super(initial);
    this.#path = path;
    this.#log = log;
    this.#lastFile = initial;
  }

  /** Starts following the file. Watches its folder, so editors that replace the file work. */
  follow(): void {
    const name = basename(this.#path);
    this.#watcher = fsWatch(dirname(this.#path), (_event, file) => {
      if (file !== null && file !== name) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => void this.#reload(), 30);
    });
  }

  close(): void {
    clearTimeout(this.#debounce);
    this.#watcher?.close();
  }

  async #reload(): Promise<void> {
    let next: GameServer;
    try {
      next = await readGameServerFile(this.#path);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'GameServer file changed but could not be read; keeping the current GameServer');
      return;
    }
    const prev = this.#lastFile;
    this.#lastFile = next;
    try {
      await this.update((cur) => applyFileEdit(cur, prev, next));
      this.#log.info({ file: this.#path }, 'GameServer file changed; applied the edit');
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'could not apply the GameServer file edit');
    }
  }
}

/** `cur` with what changed between two versions of the file applied; undefined if nothing did. */
export function applyFileEdit(cur: GameServer, prev: GameServer, next: GameServer): GameServer | undefined {
  let changed = false;
  const out = structuredClone(cur);
  for (const field of ['labels', 'annotations'] as const) {
    const p = prev.metadata[field] ?? {};
    const n = next.metadata[field] ?? {};
    const target: Record<string, string> = { ...out.metadata[field] };
    for (const [k, v] of Object.entries(n)) {
      if (p[k] !== v || target[k] !== v) {
        if (target[k] !== v) changed = true;
        target[k] = v;
      }
    }
    for (const k of Object.keys(p)) {
      if (!(k in n) && !k.startsWith(SDK_METADATA_PREFIX) && k in target) {
        delete target[k];
        changed = true;
      }
    }
    out.metadata[field] = target;
  }
  if (JSON.stringify(prev.spec) !== JSON.stringify(next.spec)) {
    out.spec = next.spec;
    changed = true;
  }
  const ps = prev.status?.state;
  const ns = next.status?.state as GameServerState | undefined;
  if (ns && ns !== ps && ns !== out.status?.state) {
    out.status = { ...out.status, state: ns };
    changed = true;
  }
  return changed ? out : undefined;
}

import type { GameServer } from '../../agones/types.ts';
import type { GameServerStore } from '../../sdk-server/store.ts';
import { RESOURCES } from '../resources/registry.ts';
import type { KubeObject, ObjectStore } from '../store/types.ts';

/**
 * The SDK server's view of one GameServer in the control plane's store: what the sidecar
 * does over the API server, done in-process.
 */
export class ObjectStoreGameServerStore implements GameServerStore {
  readonly #store: ObjectStore;
  readonly #ns: string;
  readonly #name: string;

  constructor(store: ObjectStore, namespace: string, name: string) {
    this.#store = store;
    this.#ns = namespace;
    this.#name = name;
  }

  async get(): Promise<GameServer> {
    return structuredClone(this.#store.get(RESOURCES.gameServers, this.#ns, this.#name)) as unknown as GameServer;
  }

  async update(mutate: (gs: GameServer) => GameServer | undefined): Promise<GameServer> {
    const stored = this.#store.mutate(RESOURCES.gameServers, this.#ns, this.#name, (copy) =>
      mutate(copy as unknown as GameServer) as unknown as KubeObject | undefined,
    );
    return structuredClone(stored) as unknown as GameServer;
  }

  watch(listener: (gs: GameServer) => void, onGone?: () => void): () => void {
    const w = this.#store.watch(
      RESOURCES.gameServers,
      { namespace: this.#ns, fieldSelector: `metadata.name=${this.#name}`, resourceVersion: this.#store.currentResourceVersion() },
      (e) => {
        if (e.type === 'MODIFIED') listener(structuredClone(e.object) as unknown as GameServer);
        else if (e.type === 'DELETED') onGone?.();
      },
    );
    return () => w.stop();
  }
}

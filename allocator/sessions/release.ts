import { ANNOTATION_RELEASE } from '../../fleet/agones/metadata.ts';
import { AGONES, mergePatch, statusOf, type KubeClients } from '../kube/clients.ts';

/** Annotation: when the release was asked for (RFC 3339). */
export const ANNOTATION_RELEASE_AT = 'sdfleet.dev/release-at';

export type ReleaseReason = 'user' | 'idle' | 'admin' | 'max-length';

/**
 * Asks for a release the way DESIGN.md says: an annotation the wrapper sees through
 * WatchGameServer; it finishes the generation, stores outputs, and calls Shutdown.
 * Resolves false when the GameServer is already gone.
 */
export async function requestRelease(k: KubeClients, gameServer: string, reason: ReleaseReason): Promise<boolean> {
  try {
    await k.custom.patchNamespacedCustomObject(
      {
        ...AGONES, namespace: k.namespace, plural: 'gameservers', name: gameServer,
        body: { metadata: { annotations: { [ANNOTATION_RELEASE]: reason, [ANNOTATION_RELEASE_AT]: new Date().toISOString() } } },
      },
      mergePatch,
    );
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** The last resort when a wrapper does not shut down: delete the GameServer. */
export async function forceDelete(k: KubeClients, gameServer: string): Promise<void> {
  try {
    await k.custom.deleteNamespacedCustomObject({ ...AGONES, namespace: k.namespace, plural: 'gameservers', name: gameServer });
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

/** Sets annotations on a GameServer (activity write-back, keep-alive). */
export async function annotate(k: KubeClients, gameServer: string, annotations: Record<string, string>): Promise<void> {
  await k.custom.patchNamespacedCustomObject(
    { ...AGONES, namespace: k.namespace, plural: 'gameservers', name: gameServer, body: { metadata: { annotations } } },
    mergePatch,
  );
}

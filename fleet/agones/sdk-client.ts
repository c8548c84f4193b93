/**
 * The npm Agones SDK client with usable types. The package is CommonJS
 * (`module.exports = AgonesSDK`) while its typings declare an ES default export, which
 * TypeScript's NodeNext resolution reads as a namespace; this module gives one class value
 * and one type.
 */
import sdkModule from '@google-cloud/agones-sdk';
import type { AgonesSDK as AgonesSdkClass } from '@google-cloud/agones-sdk/src/agonesSDK.js';
import type BetaModule from '@google-cloud/agones-sdk/src/beta.js';

type Beta = InstanceType<(typeof BetaModule)['default']>;

/** The client; its typings leave out `beta` (counters and lists), which it has. */
export type AgonesSDK = AgonesSdkClass & { beta: Beta };
export const AgonesSDK = sdkModule as unknown as new () => AgonesSDK;

/** The GameServer as the SDK client returns it (google-protobuf's toObject form). */
export type SdkClientGameServer = Awaited<ReturnType<AgonesSDK['getGameServer']>>;

/** `labelsMap` / `annotationsMap` (arrays of pairs) as plain objects. */
export function metadataOf(gs: SdkClientGameServer): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: Object.fromEntries(gs.objectMeta.labelsMap),
    annotations: Object.fromEntries(gs.objectMeta.annotationsMap),
  };
}

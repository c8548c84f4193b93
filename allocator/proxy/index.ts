import { closeCore, createCore } from './core.ts';
import { resolveOptions } from './options.ts';
import type { Proxy, ProxyOptions } from './types.ts';
import { createFastLane } from './lane.ts';
import { handleWeb } from './web.ts';
import { handleUpgrade } from './websocket.ts';

export type { Proxy, ProxyMetrics, ProxyOptions, Route } from './types.ts';
export type { FastLane, FastLaneOptions, LaneRequest } from './lane.ts';
export { PROXY_DEFAULTS } from './types.ts';
export { prometheusProxyMetrics } from './metrics.ts';

/**
 * The reverse proxy from the allocator to users' instances: every request the allocator
 * does not serve itself goes through `web` or `upgrade`, to wherever `resolve` says.
 * Knows nothing of Kubernetes or identity. Throws at once on invalid options.
 */
export function createProxy(opts: ProxyOptions): Proxy {
  const core = createCore(resolveOptions(opts));
  return {
    web: (req, res) => handleWeb(core, req, res),
    upgrade: (req, socket, head) => handleUpgrade(core, req, socket, head),
    fastLane: (lane) => createFastLane(core, lane),
    close: () => closeCore(core),
  };
}

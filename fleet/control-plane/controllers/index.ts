import { hostname } from 'node:os';
import type { Logger } from '../../../common/log.ts';
import { RESOURCES } from '../resources/registry.ts';
import { GpuPool } from '../runner/gpus.ts';
import { HostPortAllocator } from '../runner/host-ports.ts';
import type { GameServerRunner } from '../runner/runner.ts';
import type { ObjectStore } from '../store/types.ts';
import { allocationHandler } from './allocation.ts';
import { AutoscalerController } from './autoscaler-controller.ts';
import { EventRecorder } from './events.ts';
import { FleetController } from './fleet-controller.ts';
import { GameServerController } from './gameserver-controller.ts';

export interface ControllersOptions {
  store: ObjectStore;
  /** Where GameServers run: a ProcessRunner, or a FakeRunner for benchmarks. */
  runner: GameServerRunner;
  /** Registers the GameServerAllocation create handler (the API server's registerCreateHandler). */
  registerCreateHandler: (resource: string, handler: ReturnType<typeof allocationHandler>) => () => void;
  log: Logger;
  /** GPU device ids handed out to GameServers that request nvidia.com/gpu. Default none. */
  gpus?: string[];
  /** Host ports for Dynamic ports. Default 7000–8000, as Agones. */
  portRange?: { min: number; max: number };
  /** One SDK server per GameServer. Default true; false with runners that start no process. */
  sdkServers?: boolean;
  /** Webhook service references → local base URLs (see AutoscalerControllerOptions.services). */
  services?: Record<string, string>;
  /** GameServers reconciled at once. Default 8. */
  gameServerWorkers?: number;
}

export interface Controllers {
  gameServers: GameServerController;
  fleets: FleetController;
  autoscalers: AutoscalerController;
  events: EventRecorder;
  /** Resolves when the GameServer and Fleet queues are empty (for tests). */
  idle(): Promise<void>;
  /** Stops every controller and every GameServer's process. */
  stop(): Promise<void>;
}

/** The Agones controllers of the embedded control plane, over its store. */
export function startControllers(o: ControllersOptions): Controllers {
  const events = new EventRecorder({ store: o.store, component: 'sdfleet-controller', log: o.log });
  const gameServers = new GameServerController({
    store: o.store,
    runner: o.runner,
    events,
    ports: new HostPortAllocator(o.portRange),
    gpus: new GpuPool(o.gpus ?? []),
    log: o.log.child({ controller: 'gameservers' }),
    sdkServers: o.sdkServers ?? true,
    nodeName: hostname(),
    ...(o.gameServerWorkers !== undefined ? { workers: o.gameServerWorkers } : {}),
  });
  const fleets = new FleetController({ store: o.store, events, log: o.log.child({ controller: 'fleets' }) });
  const autoscalers = new AutoscalerController({ store: o.store, events, log: o.log.child({ controller: 'fleetautoscalers' }), ...(o.services ? { services: o.services } : {}) });
  const unregister = o.registerCreateHandler(RESOURCES.gameServerAllocations, allocationHandler({ store: o.store, log: o.log }));
  gameServers.start();
  fleets.start();
  autoscalers.start();
  return {
    gameServers,
    fleets,
    autoscalers,
    events,
    idle: async () => {
      await Promise.all([gameServers.idle(), fleets.idle()]);
    },
    stop: async () => {
      unregister();
      fleets.stop();
      await autoscalers.stop();
      await gameServers.stop();
    },
  };
}

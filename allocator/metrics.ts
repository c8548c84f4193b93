import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The allocator's Prometheus metrics (/metrics), in a registry of its own; the proxy adds its `sdfleet_proxy_*` to it. */
export class AllocatorMetrics {
  readonly registry = new Registry();
  readonly allocations = new Counter({ name: 'sdfleet_allocations_total', help: 'GameServerAllocations by result (Allocated, UnAllocated, Contention, error)', labelNames: ['result'], registers: [this.registry] });
  readonly allocationSeconds = new Histogram({
    name: 'sdfleet_allocation_duration_seconds', help: 'Time to create a GameServerAllocation', labelNames: ['result'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry],
  });
  readonly sessionStartSeconds = new Histogram({
    name: 'sdfleet_session_start_duration_seconds', help: 'POST /sessions answered with a session (existing or new)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: [this.registry],
  });
  readonly queueLength = new Gauge({ name: 'sdfleet_queue_length', help: 'Users waiting, by profile', labelNames: ['profile'], registers: [this.registry] });
  readonly queueWaitSeconds = new Histogram({
    name: 'sdfleet_queue_wait_seconds', help: 'Time from joining the queue to getting an instance',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200], registers: [this.registry],
  });
  readonly sessions = new Gauge({ name: 'sdfleet_sessions', help: 'Live sessions by state', labelNames: ['state'], registers: [this.registry] });
  readonly reclaims = new Counter({ name: 'sdfleet_reclaims_total', help: 'Sessions released by the allocator, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly fleetResizes = new Counter({
    name: 'sdfleet_fleet_resizes_total', help: "The leader's Fleet writes between syncs (step: shrink = release-time shrink, grow = grow on arrival) by result (set, changed, conflict, gone, failed)",
    labelNames: ['fleet', 'step', 'result'], registers: [this.registry],
  });
  readonly socketClients = new Gauge({ name: 'sdfleet_socketio_clients', help: 'Connected socket.io clients', registers: [this.registry] });
  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'sdfleet_allocator_' });
  }
}

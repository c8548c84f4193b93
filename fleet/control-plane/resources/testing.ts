/** Sample objects for tests of the control plane and of code built on it. */
import type { KubeObject } from '../store/types.ts';

export interface SampleOptions {
  namespace?: string;
  labels?: Record<string, string>;
}

export function sampleGameServer(name: string, o: SampleOptions & { state?: string } = {}): KubeObject {
  return {
    apiVersion: 'agones.dev/v1',
    kind: 'GameServer',
    metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}), ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      ports: [{ name: 'webui', containerPort: 7860, protocol: 'TCP' }],
      template: { spec: { containers: [{ name: 'webui', image: 'sdfleet/sd-webui' }] } },
    },
    ...(o.state ? { status: { state: o.state } } : {}),
  };
}

export function sampleFleet(name: string, replicas = 2, o: SampleOptions = {}): KubeObject {
  return {
    apiVersion: 'agones.dev/v1',
    kind: 'Fleet',
    metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}), ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      replicas,
      template: {
        metadata: { labels: { app: 'sd-webui' } },
        spec: {
          ports: [{ name: 'webui', containerPort: 7860, protocol: 'TCP' }],
          template: { spec: { containers: [{ name: 'webui', image: 'sdfleet/sd-webui' }] } },
        },
      },
    },
  };
}

export function sampleFleetAutoscaler(name: string, fleetName: string, o: SampleOptions = {}): KubeObject {
  return {
    apiVersion: 'autoscaling.agones.dev/v1',
    kind: 'FleetAutoscaler',
    metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}) },
    spec: { fleetName, policy: { type: 'Buffer', buffer: { bufferSize: 2, minReplicas: 2, maxReplicas: 10 } } },
  };
}

export function sampleConfigMap(name: string, data: Record<string, string>, o: SampleOptions = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}) }, data };
}

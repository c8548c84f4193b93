import { listenLoopback, type Loopback } from './http.ts';

export interface FakeMetadataOptions {
  project?: string;
  zone?: string;
  token?: string;
  /** Answer instance/name as GCE does; off by default, as under Workload Identity. */
  instanceName?: string;
}

export interface FakeMetadata extends Loopback {
  /** `127.0.0.1:<port>`, what GCE_METADATA_HOST takes. */
  host: string;
  tokenRequests: number;
}

/** The GCE/GKE metadata server's few keys the agent reads, on 127.0.0.1. */
export async function startFakeMetadata(o: FakeMetadataOptions = {}): Promise<FakeMetadata> {
  const state = { tokenRequests: 0 };
  const values: Record<string, () => string> = {
    'project/project-id': () => o.project ?? 'test-project',
    'instance/zone': () => `projects/123456789/zones/${o.zone ?? 'us-central1-a'}`,
    'instance/service-accounts/default/token': () => {
      state.tokenRequests++;
      return JSON.stringify({ access_token: o.token ?? 'fake-token', expires_in: 3599, token_type: 'Bearer' });
    },
  };
  if (o.instanceName) values['instance/name'] = () => o.instanceName!;
  const lb = await listenLoopback((req, res) => {
    const path = (req.url ?? '').split('?')[0]!.replace(/^\/computeMetadata\/v1\//, '');
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('Missing Metadata-Flavor: Google header');
      return;
    }
    const value = values[path];
    res.writeHead(value ? 200 : 404, { 'content-type': 'text/plain', 'metadata-flavor': 'Google' });
    res.end(value ? value() : 'not found');
  });
  return {
    ...lb,
    host: `127.0.0.1:${lb.port}`,
    get tokenRequests() {
      return state.tokenRequests;
    },
  };
}

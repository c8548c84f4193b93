import { LibDiskError } from './errors.ts';

/** The default address of the GCE (and GKE) metadata server. */
export const DEFAULT_METADATA_HOST = '169.254.169.254';

export interface MetadataOptions {
  /**
   * `host[:port]` of the metadata server. Google's Node libraries read it from
   * `GCE_METADATA_HOST` (then `GCE_METADATA_IP`); common/env.ts does the same, and tests
   * point it at a fake on 127.0.0.1. Default 169.254.169.254.
   */
  host?: string;
  /** Per-request timeout; default 5 s. */
  timeoutMs?: number;
}

export interface AccessToken {
  token: string;
  /** When it stops being valid, ms since the epoch. */
  expiresAt: number;
}

/**
 * The few things the agent asks the metadata server. With Workload Identity the pod talks
 * to the GKE metadata server, which serves the project, the zone and a token for the bound
 * Google service account but hides `instance/name` (and `instance/id`): the node's name
 * therefore comes from the Downward API (`spec.nodeName`), and on GKE a node's name is its
 * instance's name.
 */
export class GceMetadata {
  readonly baseUrl: string;
  readonly #timeoutMs: number;

  constructor(opts: MetadataOptions = {}) {
    const host = opts.host ?? DEFAULT_METADATA_HOST;
    this.baseUrl = `${/^https?:\/\//.test(host) ? host : `http://${host}`}/computeMetadata/v1`;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** The project id (not its number). */
  async projectId(): Promise<string> {
    return (await this.get('project/project-id')).trim();
  }

  /** The instance's zone, e.g. `us-central1-a` (the server answers `projects/<n>/zones/<zone>`). */
  async zone(): Promise<string> {
    const full = (await this.get('instance/zone')).trim();
    const zone = full.split('/').pop() ?? '';
    if (!/^[a-z]+-[a-z0-9]+-[a-z]$/.test(zone)) {
      throw new LibDiskError('metadata_unavailable', `metadata server answered instance/zone with "${full}", expected projects/<number>/zones/<zone>; pass --zone to override.`);
    }
    return zone;
  }

  /** An access token for the instance's (or, with Workload Identity, the pod's) service account. */
  async accessToken(): Promise<AccessToken> {
    const text = await this.get('instance/service-accounts/default/token');
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      throw new LibDiskError('metadata_unavailable', `metadata server's token answer is not JSON (expected {access_token, expires_in}).`, err);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new LibDiskError('metadata_unavailable', 'metadata server gave no access_token: is a service account attached (Workload Identity: is the Kubernetes service account bound to a Google one)?');
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 300;
    return { token: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
  }

  /** One value, as text. 404 means the key is not served (e.g. hidden by Workload Identity). */
  async get(path: string): Promise<string> {
    const url = `${this.baseUrl}/${path}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { 'Metadata-Flavor': 'Google' }, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw new LibDiskError(
        'metadata_unavailable',
        `metadata server at ${this.baseUrl} did not answer ${path} (${(err as Error).message}). On GKE it is always there; elsewhere set GCE_METADATA_HOST, or pass --project and --zone.`,
        err,
      );
    }
    const text = await res.text();
    if (res.status === 404) {
      throw new LibDiskError('metadata_unavailable', `metadata server has no ${path} (404). With Workload Identity some instance keys are hidden; pass the value as a flag instead.`);
    }
    if (!res.ok) {
      throw new LibDiskError('metadata_unavailable', `metadata server answered ${path} with HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    // The real server marks every answer; anything else is a proxy or a captive portal.
    if (res.headers.get('metadata-flavor') !== 'Google') {
      throw new LibDiskError('metadata_unavailable', `${url} answered without "Metadata-Flavor: Google": that is not a metadata server (check GCE_METADATA_HOST).`);
    }
    return text;
  }
}

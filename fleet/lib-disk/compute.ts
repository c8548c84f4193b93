import { DisksClient, InstancesClient, ZoneOperationsClient, type protos } from '@google-cloud/compute';
import type { Logger } from '../../common/log.ts';
import { LibDiskError, apiError, isAlreadyExists, isNotFound } from './errors.ts';
import type { AccessToken } from './metadata.ts';

type IOperation = protos.google.cloud.compute.v1.IOperation;

/** A disk attached to the instance. */
export interface Attachment {
  deviceName: string;
  /** The disk's name (the last part of its URL). */
  diskName: string;
  /** The disk's zone, from its URL. */
  diskZone: string;
  mode: string;
  autoDelete: boolean;
}

export interface InstanceView {
  name: string;
  /** The machine type's URL, e.g. `…/zones/z/machineTypes/g2-standard-8`. */
  machineType: string;
  disks: Attachment[];
}

export interface DiskView {
  name: string;
  /** CREATING, RESTORING, READY, FAILED, DELETING. */
  status: string;
  type: string;
  sourceImage: string;
  accessMode: string;
  /** The instances it is attached to (URLs). */
  users: string[];
}

export interface NewDisk {
  name: string;
  type: string;
  sourceImage: string;
  accessMode?: string;
  sizeGb?: number;
  labels: Record<string, string>;
}

export interface NewAttachment {
  diskName: string;
  deviceName: string;
  mode: 'READ_ONLY' | 'READ_WRITE';
  autoDelete: boolean;
}

/**
 * The Compute calls the agent makes. Writes resolve when their operation is DONE and
 * reject with a LibDiskError that names the call, the resource and the permission.
 */
export interface DiskApi {
  getInstance(zone: string, instance: string): Promise<InstanceView>;
  /** undefined when there is no such disk. */
  getDisk(zone: string, name: string): Promise<DiskView | undefined>;
  /** `exists` when the name is taken (another node, or an earlier run, created it). */
  insertDisk(zone: string, disk: NewDisk): Promise<'created' | 'exists'>;
  attachDisk(zone: string, instance: string, a: NewAttachment): Promise<void>;
  close(): Promise<void>;
}

export interface ComputeOptions {
  project: string;
  /**
   * Where the Compute API is, e.g. `http://127.0.0.1:8089` for a fake. Default Google's
   * (https://compute.googleapis.com).
   */
  endpoint?: string;
  /** Gives an access token; called again shortly before the last one expires. */
  token: () => Promise<AccessToken>;
  /** How long one operation may take before the agent gives up; default 10 min. */
  operationTimeoutMs?: number;
  log: Logger;
}

/**
 * DiskApi over @google-cloud/compute with its REST transport. Authentication is a token
 * from the metadata server (with Workload Identity: the bound Google service account's)
 * rather than Application Default Credentials, so the one metadata host setting covers
 * both and a test needs no credentials file.
 */
export class GoogleDiskApi implements DiskApi {
  readonly #project: string;
  readonly #instances: InstancesClient;
  readonly #disks: DisksClient;
  readonly #operations: ZoneOperationsClient;
  readonly #operationTimeoutMs: number;
  readonly #log: Logger;

  constructor(opts: ComputeOptions) {
    this.#project = opts.project;
    this.#operationTimeoutMs = opts.operationTimeoutMs ?? 600_000;
    this.#log = opts.log;
    const clientOpts = { ...endpointOptions(opts.endpoint), fallback: true, authClient: tokenAuth(opts.token) as never };
    this.#instances = new InstancesClient(clientOpts);
    this.#disks = new DisksClient(clientOpts);
    this.#operations = new ZoneOperationsClient(clientOpts);
  }

  async getInstance(zone: string, instance: string): Promise<InstanceView> {
    const resource = `projects/${this.#project}/zones/${zone}/instances/${instance}`;
    try {
      const [i] = await this.#instances.get({ project: this.#project, zone, instance });
      return {
        name: i.name ?? instance,
        machineType: i.machineType ?? '',
        disks: (i.disks ?? []).map((d) => {
          const parts = (d.source ?? '').split('/');
          return {
            deviceName: d.deviceName ?? '',
            diskName: parts.at(-1) ?? '',
            diskZone: parts.at(-3) ?? '',
            mode: d.mode ?? 'READ_WRITE',
            autoDelete: d.autoDelete ?? false,
          };
        }),
      };
    } catch (err) {
      throw apiError(err, {
        call: 'instances.get', resource, permissions: ['compute.instances.get'],
        notFoundHint: `The node name (Downward API spec.nodeName, --node-name) must be the GCE instance's name, and --zone/--project its zone and project.`,
      });
    }
  }

  async getDisk(zone: string, name: string): Promise<DiskView | undefined> {
    try {
      const [d] = await this.#disks.get({ project: this.#project, zone, disk: name });
      return {
        name: d.name ?? name,
        status: d.status ?? '',
        type: (d.type ?? '').split('/').pop() ?? '',
        sourceImage: d.sourceImage ?? '',
        accessMode: d.accessMode ?? 'READ_WRITE_SINGLE',
        users: d.users ?? [],
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw apiError(err, { call: 'disks.get', resource: `projects/${this.#project}/zones/${zone}/disks/${name}`, permissions: ['compute.disks.get'] });
    }
  }

  async insertDisk(zone: string, disk: NewDisk): Promise<'created' | 'exists'> {
    const resource = `projects/${this.#project}/zones/${zone}/disks/${disk.name}`;
    const ctx = {
      call: 'disks.insert', resource, permissions: ['compute.disks.create', `compute.images.useReadOnly (on ${disk.sourceImage})`],
      notFoundHint: `Check that the image ${disk.sourceImage} exists and that the disk type ${disk.type} is offered in ${zone}.`,
    };
    let op: IOperation;
    try {
      const [lro] = await this.#disks.insert({
        project: this.#project,
        zone,
        diskResource: {
          name: disk.name,
          type: `projects/${this.#project}/zones/${zone}/diskTypes/${disk.type}`,
          sourceImage: disk.sourceImage,
          labels: disk.labels,
          ...(disk.accessMode ? { accessMode: disk.accessMode } : {}),
          ...(disk.sizeGb ? { sizeGb: String(disk.sizeGb) } : {}),
        },
      });
      op = lro.latestResponse as IOperation;
    } catch (err) {
      if (isAlreadyExists(err)) return 'exists';
      throw apiError(err, ctx);
    }
    await this.#wait(zone, op, ctx);
    return 'created';
  }

  async attachDisk(zone: string, instance: string, a: NewAttachment): Promise<void> {
    const disk = `projects/${this.#project}/zones/${zone}/disks/${a.diskName}`;
    const ctx = {
      call: 'instances.attachDisk', resource: `${disk} → instance ${instance}`,
      permissions: ['compute.instances.attachDisk', a.mode === 'READ_ONLY' ? 'compute.disks.useReadOnly' : 'compute.disks.use'],
    };
    let op: IOperation;
    try {
      const [lro] = await this.#instances.attachDisk({
        project: this.#project,
        zone,
        instance,
        attachedDiskResource: { source: disk, deviceName: a.deviceName, mode: a.mode, autoDelete: a.autoDelete },
      });
      op = lro.latestResponse as IOperation;
    } catch (err) {
      throw apiError(err, ctx);
    }
    await this.#wait(zone, op, ctx);
  }

  /**
   * ZoneOperations.wait returns when the operation is DONE or after about two minutes,
   * whichever is first; so it is called in a loop, up to the operation timeout.
   */
  async #wait(zone: string, first: IOperation, ctx: { call: string; resource: string; permissions: string[] }): Promise<void> {
    let op = first;
    const name = op.name ?? '';
    const deadline = Date.now() + this.#operationTimeoutMs;
    while (op.status !== 'DONE') {
      if (Date.now() > deadline) {
        throw new LibDiskError('operation_timeout', `${ctx.call} on ${ctx.resource}: operation ${name} not DONE after ${Math.round(this.#operationTimeoutMs / 1000)} s (last status ${op.status ?? 'unknown'}); see it with gcloud compute operations describe ${name} --zone ${zone}.`);
      }
      this.#log.debug({ operation: name, status: op.status }, 'waiting for operation');
      try {
        [op] = await this.#operations.wait({ project: this.#project, zone, operation: name });
      } catch (err) {
        throw apiError(err, { call: 'zoneOperations.wait', resource: `projects/${this.#project}/zones/${zone}/operations/${name}`, permissions: ['compute.zoneOperations.get'] });
      }
    }
    const errors = op.error?.errors ?? [];
    if (errors.length > 0) {
      const what = errors.map((e) => `${e.code ?? 'ERROR'}: ${e.message ?? ''}`).join('; ');
      const status = op.httpErrorStatusCode ? ` (HTTP ${op.httpErrorStatusCode})` : '';
      let hint = '';
      if (op.httpErrorStatusCode === 403 || errors.some((e) => /PERMISSION|FORBIDDEN/i.test(e.code ?? ''))) {
        hint = ` The agent's Google service account needs ${ctx.permissions.join(', ')}.`;
      } else if (op.httpErrorStatusCode === 404 || errors.some((e) => /NOT_FOUND/i.test(e.code ?? ''))) {
        hint = ' A resource the operation refers to is missing (the image, the disk type in this zone, the disk).';
      }
      throw new LibDiskError('operation_failed', `${ctx.call} on ${ctx.resource}: operation ${name} failed${status}: ${what}.${hint}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#instances.close(), this.#disks.close(), this.#operations.close()]);
  }
}

function endpointOptions(endpoint: string | undefined): Record<string, unknown> {
  if (!endpoint) return {};
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new LibDiskError('bad_input', `--compute-endpoint "${endpoint}" is not a URL (expected e.g. http://127.0.0.1:8089).`);
  }
  const protocol = url.protocol.replace(':', '');
  if (protocol !== 'http' && protocol !== 'https') {
    throw new LibDiskError('bad_input', `--compute-endpoint "${endpoint}" must be http:// or https://.`);
  }
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  // google-gax's REST stub builds `${protocol}://${servicePath}:${port}`.
  return { apiEndpoint: url.hostname, port, protocol };
}

/**
 * The slice of an auth client google-gax's REST transport uses: `getRequestHeaders` marks
 * it as ready to use, and every call goes through its `fetch`.
 */
function tokenAuth(getToken: () => Promise<AccessToken>): { getRequestHeaders(): Promise<Headers>; fetch(url: string, init: RequestInit): Promise<Response> } {
  let cached: AccessToken | undefined;
  const token = async (): Promise<string> => {
    if (!cached || cached.expiresAt - 60_000 < Date.now()) cached = await getToken();
    return cached.token;
  };
  const headers = async (): Promise<Headers> => new Headers({ authorization: `Bearer ${await token()}` });
  return {
    getRequestHeaders: headers,
    fetch: async (url, init) => {
      const h = new Headers(init.headers);
      h.set('authorization', `Bearer ${await token()}`);
      return fetch(url, { method: init.method ?? 'GET', headers: h, body: init.body ?? null, signal: init.signal ?? null });
    },
  };
}

/**
 * A loopback fake of the Compute REST API (v1) for the calls the agent makes: instances
 * get/attachDisk, disks get/insert, zoneOperations wait/get. State changes when an
 * operation completes, as in GCE; errors have Compute's JSON shape.
 */
import type { ServerResponse } from 'node:http';
import { listenLoopback, sendJson, type Loopback } from './http.ts';

export interface FakeAttachedDisk {
  deviceName: string;
  source: string;
  mode: string;
  autoDelete: boolean;
  boot?: boolean;
}

export interface FakeInstance {
  name: string;
  machineType: string;
  disks: FakeAttachedDisk[];
}

export interface FakeDisk {
  name: string;
  status: string;
  type: string;
  sourceImage: string;
  accessMode: string;
  users: string[];
  labels: Record<string, string>;
  sizeGb?: string;
}

interface FakeOperation {
  name: string;
  zone: string;
  operationType: string;
  targetLink: string;
  /** wait/get calls still answered RUNNING. */
  pollsLeft: number;
  error?: { code: string; message: string };
  httpErrorStatusCode?: number;
  apply: () => void;
  done: boolean;
}

/** A failure for the next call of a method (`instances.get`, `disks.insert`, …). */
export interface Fault {
  status: number;
  message: string;
  reason?: string;
}

export interface FakeCompute extends Loopback {
  project: string;
  zone: string;
  instances: Map<string, FakeInstance>;
  disks: Map<string, FakeDisk>;
  /** Image paths (`projects/p/global/images/x`) that exist. */
  images: Set<string>;
  /** `METHOD /path` of every request, in order. */
  requests: string[];
  /** The method names called, in order (`disks.insert`, `zoneOperations.wait`, …). */
  calls: string[];
  /** How many wait calls an operation answers RUNNING before DONE; default 1. */
  pollsPerOperation: number;
  /** The next call of `method` fails with this HTTP error. */
  failNext(method: string, fault: Fault): void;
  /** The next operation started by `method` ends DONE with this error. */
  failOperation(method: string, error: { code: string; message: string; httpStatus?: number }): void;
  /** Called when an attach completes: tests make the by-id link appear (or not). */
  onAttach?: (instance: string, disk: FakeAttachedDisk) => void;
  /** Called before each call is answered (and before its fault): tests stage races. */
  onCall?: (method: string) => void;
}

export async function startFakeCompute(o: { project?: string; zone?: string; token?: string } = {}): Promise<FakeCompute> {
  const project = o.project ?? 'test-project';
  const zone = o.zone ?? 'us-central1-a';
  const base = `https://www.googleapis.com/compute/v1/projects/${project}`;
  const faults = new Map<string, Fault>();
  const opFaults = new Map<string, { code: string; message: string; httpStatus?: number }>();
  const operations = new Map<string, FakeOperation>();
  let opSeq = 0;

  const fake = {
    project,
    zone,
    instances: new Map<string, FakeInstance>(),
    disks: new Map<string, FakeDisk>(),
    images: new Set<string>(),
    requests: [] as string[],
    calls: [] as string[],
    pollsPerOperation: 1,
    failNext: (method: string, fault: Fault) => void faults.set(method, fault),
    failOperation: (method: string, error: { code: string; message: string; httpStatus?: number }) => void opFaults.set(method, error),
    onAttach: undefined as FakeCompute['onAttach'],
    onCall: undefined as FakeCompute['onCall'],
  };

  const error = (res: ServerResponse, status: number, message: string, reason = 'invalid'): void =>
    sendJson(res, status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });

  const startOperation = (method: string, operationType: string, targetLink: string, apply: () => void): Record<string, unknown> => {
    const name = `operation-${++opSeq}-${operationType}`;
    const failure = opFaults.get(method);
    opFaults.delete(method);
    const op: FakeOperation = {
      name, zone, operationType, targetLink, pollsLeft: fake.pollsPerOperation, apply, done: false,
      ...(failure ? { error: { code: failure.code, message: failure.message }, httpErrorStatusCode: failure.httpStatus ?? 400 } : {}),
    };
    operations.set(name, op);
    return opView(op);
  };

  const opView = (op: FakeOperation): Record<string, unknown> => ({
    kind: 'compute#operation',
    id: String(1000 + operations.size),
    name: op.name,
    zone: `${base}/zones/${op.zone}`,
    operationType: op.operationType,
    targetLink: op.targetLink,
    status: op.done ? 'DONE' : 'RUNNING',
    progress: op.done ? 100 : 50,
    selfLink: `${base}/zones/${op.zone}/operations/${op.name}`,
    ...(op.done && op.error ? { error: { errors: [op.error] }, httpErrorStatusCode: op.httpErrorStatusCode, httpErrorMessage: 'BAD REQUEST' } : {}),
  });

  const poll = (op: FakeOperation): void => {
    if (op.done) return;
    if (op.pollsLeft > 0) {
      op.pollsLeft--;
      return;
    }
    op.done = true;
    if (!op.error) op.apply();
  };

  const diskView = (d: FakeDisk): Record<string, unknown> => ({
    kind: 'compute#disk',
    name: d.name,
    status: d.status,
    type: `${base}/zones/${zone}/diskTypes/${d.type}`,
    sourceImage: `https://www.googleapis.com/compute/v1/${d.sourceImage}`,
    accessMode: d.accessMode,
    users: d.users,
    labels: d.labels,
    zone: `${base}/zones/${zone}`,
    selfLink: `${base}/zones/${zone}/disks/${d.name}`,
    ...(d.sizeGb ? { sizeGb: d.sizeGb } : {}),
  });

  const lb = await listenLoopback((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    fake.requests.push(`${req.method} ${url.pathname}`);
    if (o.token !== undefined && req.headers.authorization !== `Bearer ${o.token}`) {
      return error(res, 401, 'Request had invalid authentication credentials.', 'authError');
    }
    const m = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(.*)$/.exec(url.pathname);
    if (!m || m[1] !== project || m[2] !== zone) return error(res, 404, `The resource '${url.pathname}' was not found`, 'notFound');
    const rest = m[3]!;
    let method = '';
    let handler: () => void = () => error(res, 404, `no route ${req.method} ${rest}`, 'notFound');
    let r: RegExpExecArray | null;
    if (req.method === 'GET' && (r = /^instances\/([^/]+)$/.exec(rest))) {
      const name = r[1]!;
      method = 'instances.get';
      handler = () => {
        const i = fake.instances.get(name);
        if (!i) return error(res, 404, `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`, 'notFound');
        sendJson(res, 200, {
          kind: 'compute#instance', name: i.name, machineType: `${base}/zones/${zone}/machineTypes/${i.machineType}`, status: 'RUNNING',
          disks: i.disks.map((d, index) => ({ kind: 'compute#attachedDisk', index, type: 'PERSISTENT', ...d })),
        });
      };
    } else if (req.method === 'POST' && (r = /^instances\/([^/]+)\/attachDisk$/.exec(rest))) {
      const name = r[1]!;
      method = 'instances.attachDisk';
      handler = () => {
        const i = fake.instances.get(name);
        if (!i) return error(res, 404, `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`, 'notFound');
        const a = JSON.parse(body) as Partial<FakeAttachedDisk>;
        const diskName = (a.source ?? '').split('/').pop() ?? '';
        const d = fake.disks.get(diskName);
        if (!d) return error(res, 404, `The resource 'projects/${project}/zones/${zone}/disks/${diskName}' was not found`, 'notFound');
        if (i.disks.some((x) => x.deviceName === a.deviceName)) {
          return error(res, 400, `Invalid value for field 'resource.deviceName': '${a.deviceName}'. Device name is already in use.`);
        }
        // Many readers, or one writer.
        if (d.users.length > 0 && a.mode !== 'READ_ONLY') {
          return error(res, 400, `The disk resource '${diskName}' is already being used by '${d.users[0]}'`, 'resourceInUseByAnotherResource');
        }
        const attached: FakeAttachedDisk = {
          deviceName: a.deviceName ?? `persistent-disk-${i.disks.length}`, source: `${base}/zones/${zone}/disks/${diskName}`,
          mode: a.mode ?? 'READ_WRITE', autoDelete: a.autoDelete ?? false,
        };
        sendJson(res, 200, startOperation(method, 'attachDisk', `${base}/zones/${zone}/instances/${name}`, () => {
          i.disks.push(attached);
          d.users.push(`${base}/zones/${zone}/instances/${name}`);
          fake.onAttach?.(name, attached);
        }));
      };
    } else if (req.method === 'GET' && (r = /^disks\/([^/]+)$/.exec(rest))) {
      const name = r[1]!;
      method = 'disks.get';
      handler = () => {
        const d = fake.disks.get(name);
        if (!d) return error(res, 404, `The resource 'projects/${project}/zones/${zone}/disks/${name}' was not found`, 'notFound');
        sendJson(res, 200, diskView(d));
      };
    } else if (req.method === 'POST' && rest === 'disks') {
      method = 'disks.insert';
      handler = () => {
        const d = JSON.parse(body) as { name?: string; type?: string; sourceImage?: string; accessMode?: string; labels?: Record<string, string>; sizeGb?: string };
        const name = d.name ?? '';
        if (fake.disks.has(name)) {
          return error(res, 409, `The resource 'projects/${project}/zones/${zone}/disks/${name}' already exists`, 'alreadyExists');
        }
        const image = (d.sourceImage ?? '').replace(/^https:\/\/[^/]+\/compute\/v1\//, '');
        if (!fake.images.has(image)) return error(res, 404, `The resource '${image}' was not found`, 'notFound');
        const disk: FakeDisk = {
          name, status: 'CREATING', type: (d.type ?? 'pd-standard').split('/').pop()!, sourceImage: image,
          accessMode: d.accessMode ?? 'READ_WRITE_SINGLE', users: [], labels: d.labels ?? {}, ...(d.sizeGb ? { sizeGb: d.sizeGb } : {}),
        };
        fake.disks.set(name, disk);
        sendJson(res, 200, startOperation(method, 'insert', `${base}/zones/${zone}/disks/${name}`, () => {
          disk.status = 'READY';
        }));
      };
    } else if ((r = /^operations\/([^/]+)(\/wait)?$/.exec(rest)) && (req.method === 'GET' || (req.method === 'POST' && r[2]))) {
      const name = r[1]!;
      method = r[2] ? 'zoneOperations.wait' : 'zoneOperations.get';
      handler = () => {
        const op = operations.get(name);
        if (!op) return error(res, 404, `The resource 'projects/${project}/zones/${zone}/operations/${name}' was not found`, 'notFound');
        poll(op);
        // A failed insert leaves no disk behind.
        if (op.done && op.error && op.operationType === 'insert') fake.disks.delete(op.targetLink.split('/').pop()!);
        sendJson(res, 200, opView(op));
      };
    }
    if (method) {
      fake.calls.push(method);
      fake.onCall?.(method);
      const fault = faults.get(method);
      if (fault) {
        faults.delete(method);
        return error(res, fault.status, fault.message, fault.reason ?? (fault.status === 403 ? 'forbidden' : 'invalid'));
      }
    }
    handler();
  });
  return Object.assign(fake, lb);
}

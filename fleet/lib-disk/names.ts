/**
 * Pure decisions about names and disk kinds: which image, which disk, which type. No I/O,
 * so the table tests cover every case.
 */
import { createHash } from 'node:crypto';
import { LibDiskError } from './errors.ts';

export type Strategy = 'per-node' | 'shared';
export const STRATEGIES: readonly Strategy[] = ['per-node', 'shared'];

/** A concrete disk image. Families are refused: nodes of one zone must agree on one image. */
export interface ImageRef {
  project: string;
  name: string;
  /** `projects/<p>/global/images/<name>`, as the API takes and returns it. */
  path: string;
}

/**
 * `projects/P/global/images/NAME`, the same as a full URL, or a bare `NAME` (then in
 * `defaultProject`).
 */
export function parseImage(spec: string, defaultProject: string): ImageRef {
  const s = spec.trim().replace(/^https:\/\/(www|compute)\.googleapis\.com\/compute\/v1\//, '');
  if (/\/images\/family\//.test(s)) {
    throw new LibDiskError('bad_input', `--image "${spec}" names an image family; pin one image (projects/<p>/global/images/<name>) so every node of a zone shares one disk per version.`);
  }
  const full = /^projects\/([a-z][-a-z0-9.:]*[a-z0-9])\/global\/images\/([a-z]([-a-z0-9]*[a-z0-9])?)$/.exec(s);
  if (full) return { project: full[1]!, name: full[2]!, path: s };
  if (/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(s)) return { project: defaultProject, name: s, path: `projects/${defaultProject}/global/images/${s}` };
  throw new LibDiskError('bad_input', `--image "${spec}" is not an image: expected projects/<project>/global/images/<name> or a bare image name.`);
}

/** True when two image references (path, URL, selfLink) name the same image. */
export function sameImage(a: string | null | undefined, b: ImageRef): boolean {
  return typeof a === 'string' && a.replace(/^https:\/\/[^/]+\/compute\/(v1|beta|alpha)\//, '') === b.path;
}

/** The machine series of a machine type or its URL: `…/machineTypes/g2-standard-8` → `g2`. */
export function machineSeries(machineType: string): string {
  const last = machineType.split('/').pop() ?? '';
  return last.split('-')[0]!.toLowerCase();
}

/**
 * Series that can attach Hyperdisk ML, per Google's machine-type support table for
 * Hyperdisk (GPU families among them: A2, A3, G2). N1 with T4/V100 cannot: it gets
 * pd-balanced. Override with --hyperdisk-ml-series when Google adds series.
 */
export const HYPERDISK_ML_SERIES: readonly string[] = ['a2', 'a3', 'a4', 'c3', 'c3d', 'g2'];

export interface DiskChoiceInput {
  strategy: Strategy;
  node: string;
  image: ImageRef;
  /** From the instance (Compute returns its URL). */
  machineType: string;
  /** Disk name prefix; default `sdfleet-lib`. */
  prefix: string;
  /** `auto` picks per strategy and series; otherwise a disk type such as `pd-ssd`. */
  diskType: string;
  hyperdiskMlSeries: readonly string[];
}

export interface DiskChoice {
  strategy: Strategy;
  name: string;
  /** Disk type name, e.g. `hyperdisk-ml`. */
  type: string;
  /** Set at creation: Hyperdisk ML is created READ_ONLY_MANY so many nodes can attach it. */
  accessMode?: 'READ_ONLY_MANY';
  /** Always read-only: the lib disk is never written on a node. */
  attachMode: 'READ_ONLY';
  /** per-node: the disk dies with its node. shared: never deleted by an attach. */
  autoDelete: boolean;
  /** The attachment's device name; the device shows up as /dev/disk/by-id/google-<deviceName>. */
  deviceName: string;
  labels: Record<string, string>;
  /** One line on why this disk, for the plan and the log. */
  why: string;
}

export function chooseDisk(i: DiskChoiceInput): DiskChoice {
  const series = machineSeries(i.machineType);
  const hdmlOk = i.hyperdiskMlSeries.includes(series);
  const labels: Record<string, string> = { 'sdfleet-role': 'lib-disk', 'sdfleet-strategy': i.strategy, 'sdfleet-image': labelValue(i.image.name) };
  if (i.strategy === 'per-node') {
    const type = i.diskType === 'auto' ? 'pd-balanced' : i.diskType;
    // The image's hash in the name: a node given a new image makes a new disk instead of
    // silently mounting the old one.
    const name = resourceName(`${i.prefix}-${i.node}`, shortHash(i.image.path));
    return {
      strategy: 'per-node', name, type, attachMode: 'READ_ONLY', autoDelete: true, deviceName: name,
      labels: { ...labels, 'sdfleet-node': labelValue(i.node) },
      why: `per-node: a ${type} disk from ${i.image.path} for node ${i.node}, deleted with the node`,
    };
  }
  let type = i.diskType;
  if (type === 'auto') type = hdmlOk ? 'hyperdisk-ml' : 'pd-balanced';
  if (type === 'hyperdisk-ml' && !hdmlOk) {
    throw new LibDiskError('bad_input', `--disk-type hyperdisk-ml: machine series ${series} (${i.machineType.split('/').pop()}) cannot attach Hyperdisk ML (supported here: ${i.hyperdiskMlSeries.join(', ')}); use --disk-type auto or pd-balanced, or extend --hyperdisk-ml-series.`);
  }
  const short = type === 'hyperdisk-ml' ? 'hdml' : type;
  const name = resourceName(`${i.prefix}-${short}-${i.image.name}`);
  return {
    strategy: 'shared', name, type, ...(type === 'hyperdisk-ml' ? { accessMode: 'READ_ONLY_MANY' as const } : {}),
    attachMode: 'READ_ONLY', autoDelete: false, deviceName: name, labels,
    why: type === 'hyperdisk-ml'
      ? `shared: one Hyperdisk ML disk (READ_ONLY_MANY) per zone for ${i.image.path}; series ${series} supports it`
      : `shared: one ${type} disk per zone for ${i.image.path}, attached read-only to many nodes${i.diskType === 'auto' ? ` (series ${series} cannot attach Hyperdisk ML)` : ''}`,
  };
}

/**
 * A valid Compute resource name (`[a-z]([-a-z0-9]*[a-z0-9])?`, ≤ 63) built from `base`,
 * with `suffix` kept whole. Too long: cut, and a hash of the whole keeps it unique.
 */
export function resourceName(base: string, suffix?: string): string {
  let clean = base.toLowerCase().replace(/[^-a-z0-9]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(clean)) clean = `d-${clean}`;
  const tail = suffix ? `-${suffix}` : '';
  if (clean.length + tail.length <= 63) return `${clean}${tail}`;
  const hash = `-${shortHash(base)}`;
  return `${clean.slice(0, 63 - tail.length - hash.length).replace(/-+$/, '')}${hash}${tail}`;
}

/** A label value: lowercase letters, digits, `-` and `_`, ≤ 63. */
export function labelValue(s: string): string {
  return s.toLowerCase().replace(/[^-_a-z0-9]+/g, '-').slice(0, 63);
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/**
 * The default startup taint. The `startup-taint.cluster-autoscaler.kubernetes.io/` prefix
 * tells the cluster autoscaler the taint goes away by itself, so it still scales up for
 * pods that do not tolerate it (the WebUI pods).
 */
export const DEFAULT_STARTUP_TAINT = 'startup-taint.cluster-autoscaler.kubernetes.io/sdfleet-lib-disk';

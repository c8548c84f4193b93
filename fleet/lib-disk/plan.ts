/**
 * Decide, then act: `decidePlan` turns what the agent saw into the steps still to do, with
 * no I/O, so a pass after a crash, a reboot or another node's race is one table row.
 */
import type { Attachment, DiskView, InstanceView, NewAttachment, NewDisk } from './compute.ts';
import { LibDiskError } from './errors.ts';
import type { VerifyMode } from './manifest.ts';
import type { MountInfo, MountRequest } from './mounter.ts';
import { sameImage, type DiskChoice, type ImageRef } from './names.ts';

/** What the agent is asked to reach on this node. */
export interface Target {
  node: string;
  project: string;
  zone: string;
  image: ImageRef;
  choice: DiskChoice;
  sizeGb?: number;
  /** The device's by-id path on the host, from the attachment's device name. */
  devicePath: string;
  mountDir: string;
  fsType: string;
  mountOptions: string[];
  markerPath: string;
  verify: VerifyMode;
  taintKey: string | undefined;
}

/** What the agent saw, read-only. */
export interface Observed {
  instance: InstanceView;
  disk: DiskView | undefined;
  /** The instance's attachment of the chosen disk. */
  attachment: Attachment | undefined;
  /** The kernel's name for the by-id device (e.g. /dev/sdb) when it exists. */
  device: string | undefined;
  mount: MountInfo | undefined;
  markerPresent: boolean;
}

export type Step =
  | { kind: 'create-disk'; disk: NewDisk }
  | { kind: 'wait-disk-ready'; disk: string; status: string }
  | { kind: 'attach'; attachment: NewAttachment }
  | { kind: 'wait-device'; path: string }
  | { kind: 'clear-marker'; path: string }
  | { kind: 'mount'; request: MountRequest }
  | { kind: 'verify'; dir: string; mode: VerifyMode }
  | { kind: 'write-marker'; path: string }
  | { kind: 'remove-taint'; node: string; key: string };

export interface Plan {
  target: Target;
  observed: Observed;
  steps: Step[];
}

export function decidePlan(t: Target, o: Observed): Plan {
  const steps: Step[] = [];
  const c = t.choice;
  if (o.disk) {
    if (!sameImage(o.disk.sourceImage, t.image)) {
      throw new LibDiskError(
        'conflict',
        `disk ${c.name} in ${t.zone} exists but was made from ${o.disk.sourceImage || 'no image'}, not ${t.image.path}. ` +
          `Delete it (gcloud compute disks delete ${c.name} --zone ${t.zone}) once no node uses it, or use another --disk-prefix.`,
      );
    }
    if (o.disk.status === 'FAILED' || o.disk.status === 'DELETING') {
      throw new LibDiskError('conflict', `disk ${c.name} in ${t.zone} is ${o.disk.status}; delete it (gcloud compute disks delete ${c.name} --zone ${t.zone}) and the agent makes it again.`);
    }
    if (o.disk.status !== 'READY') steps.push({ kind: 'wait-disk-ready', disk: c.name, status: o.disk.status });
  } else {
    steps.push({
      kind: 'create-disk',
      disk: {
        name: c.name, type: c.type, sourceImage: t.image.path, labels: c.labels,
        ...(c.accessMode ? { accessMode: c.accessMode } : {}), ...(t.sizeGb ? { sizeGb: t.sizeGb } : {}),
      },
    });
  }
  if (!o.attachment) {
    steps.push({ kind: 'attach', attachment: { diskName: c.name, deviceName: c.deviceName, mode: c.attachMode, autoDelete: c.autoDelete } });
  }
  if (!o.device) steps.push({ kind: 'wait-device', path: t.devicePath });

  if (o.mount) {
    const ours = o.mount.source === t.devicePath || (o.device !== undefined && o.mount.source === o.device);
    if (!ours) {
      throw new LibDiskError(
        'conflict',
        `${t.mountDir} on the host already has ${o.mount.source} (${o.mount.fsType}) mounted, not the lib disk ${c.name} (${t.devicePath}${o.device ? ` → ${o.device}` : ''}). ` +
          'A node keeps the lib disk it started with: to roll a new image, replace the node (or unmount it on the node and restart the agent), or pick another --mount-dir.',
      );
    }
    if (!o.markerPresent) {
      steps.push({ kind: 'verify', dir: t.mountDir, mode: t.verify }, { kind: 'write-marker', path: t.markerPath });
    }
  } else {
    // After a reboot the mount is gone but a marker may be left: the wrapper must not believe it.
    if (o.markerPresent) steps.push({ kind: 'clear-marker', path: t.markerPath });
    steps.push(
      { kind: 'mount', request: { device: t.devicePath, target: t.mountDir, fsType: t.fsType, options: t.mountOptions } },
      { kind: 'verify', dir: t.mountDir, mode: t.verify },
      { kind: 'write-marker', path: t.markerPath },
    );
  }
  if (t.taintKey) steps.push({ kind: 'remove-taint', node: t.node, key: t.taintKey });
  return { target: t, observed: o, steps };
}

/** The plan as `--dry-run` prints it. */
export function formatPlan(p: Plan): string {
  const { target: t, observed: o } = p;
  const c = t.choice;
  const lines = [
    `sdfleet lib-disk plan for node ${t.node} (project ${t.project}, zone ${t.zone}, machine type ${o.instance.machineType.split('/').pop() || 'unknown'})`,
    `  disk:   ${c.name} — ${c.why}`,
    `  now:    disk ${o.disk ? `exists (${o.disk.status}, ${o.disk.type})` : 'missing'}; ` +
      `${o.attachment ? `attached as ${o.attachment.deviceName} (${o.attachment.mode})` : 'not attached'}; ` +
      `device ${o.device ?? 'absent'}; ${o.mount ? `${t.mountDir} has ${o.mount.source} mounted` : `${t.mountDir} not mounted`}; ` +
      `marker ${o.markerPresent ? 'present' : 'absent'}`,
  ];
  if (p.steps.length === 0) lines.push('  steps:  none');
  else lines.push('  steps:');
  p.steps.forEach((s, i) => lines.push(`    ${i + 1}. ${describeStep(s, t)}`));
  return lines.join('\n') + '\n';
}

function describeStep(s: Step, t: Target): string {
  switch (s.kind) {
    case 'create-disk':
      return `create disk ${s.disk.name} in ${t.zone}: ${s.disk.type}${s.disk.accessMode ? ` ${s.disk.accessMode}` : ''} from ${s.disk.sourceImage}${s.disk.sizeGb ? `, ${s.disk.sizeGb} GB` : ''}`;
    case 'wait-disk-ready':
      return `wait for disk ${s.disk} to be READY (now ${s.status})`;
    case 'attach':
      return `attach ${s.attachment.diskName} to instance ${t.node} as device ${s.attachment.deviceName}, ${s.attachment.mode}${s.attachment.autoDelete ? ', deleted with the instance' : ''}`;
    case 'wait-device':
      return `wait for ${s.path} to appear`;
    case 'clear-marker':
      return `remove the stale marker ${s.path}`;
    case 'mount':
      return `mount ${s.request.device} at ${s.request.target} (${s.request.fsType}, ${s.request.options.join(',')}) in the host's mount namespace`;
    case 'verify':
      return `check ${s.dir} against its manifest (${s.mode})`;
    case 'write-marker':
      return `write the ready marker ${s.path}`;
    case 'remove-taint':
      return `remove taint ${s.key} from node ${s.node}`;
  }
}

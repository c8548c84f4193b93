import { Command, InvalidArgumentError, Option } from 'commander';
import { MANIFEST_FILE, VERIFY_MODES, type VerifyMode } from '../fleet/lib-disk/manifest.ts';
import { DEFAULT_STARTUP_TAINT, HYPERDISK_ML_SERIES, STRATEGIES, type Strategy } from '../fleet/lib-disk/names.ts';
import { intOption, secondsOption } from './run.ts';

export interface LibDiskFlags {
  nodeName?: string;
  project?: string;
  zone?: string;
  image: string;
  imageVersion?: string;
  strategy: Strategy;
  diskType: string;
  diskPrefix: string;
  sizeGb?: number;
  hyperdiskMlSeries: string[];
  mountDir: string;
  marker?: string;
  fsType: string;
  verify: VerifyMode;
  manifest: string;
  byIdDir: string;
  hostRoot?: string;
  taint: string | false;
  kubeconfig?: string;
  computeEndpoint?: string;
  metadataHost?: string;
  deviceTimeout: number;
  operationTimeout: number;
  dryRun?: boolean;
  once?: boolean;
  recheck: number;
  metricsPort: number;
  metricsHost?: string;
  nsenter: string;
  logLevel: string;
}

function seriesList(value: string): string[] {
  const list = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (list.length === 0 || list.some((s) => !/^[a-z][a-z0-9]*$/.test(s))) {
    throw new InvalidArgumentError(`--hyperdisk-ml-series takes machine series separated by commas (e.g. a2,a3,g2), got "${value}".`);
  }
  return list;
}

function absolutePath(name: string): (value: string) => string {
  return (value: string) => {
    if (!value.startsWith('/')) throw new InvalidArgumentError(`${name} takes an absolute path on the host, got "${value}".`);
    return value.replace(/\/+$/, '') || '/';
  };
}

/**
 * `sdfleet lib-disk`: the node agent of the GKE lib disk. Runs on every GPU node (a
 * privileged DaemonSet with hostPID); see fleet/lib-disk/README.md.
 */
export function libDiskCommand(): Command {
  return new Command('lib-disk')
    .summary('Node agent: attach, mount and verify the lib disk on a GKE node, then lift its startup taint')
    .description(
      'Make this node\'s lib disk (the Python venv, PyTorch and the WebUI, from a disk image) ready: create it from --image ' +
        '(per-node: one disk per node, deleted with it; shared: one read-only disk per zone and image, Hyperdisk ML READ_ONLY_MANY ' +
        'where the machine series allows, pd-balanced otherwise), attach it read-only, wait for /dev/disk/by-id/google-<device>, ' +
        'mount it read-only in the host\'s mount namespace, check it against its manifest, write the marker the wrapper waits for, ' +
        'and remove the node\'s startup taint. Each step is skipped when already done, so it is safe to run again at any time; it keeps ' +
        'running and mounts again after a reboot. Node name from NODE_NAME (Downward API), project and zone from the metadata server ' +
        '(GCE_METADATA_HOST). Exit status with --once or --dry-run: 0 ready (or plan printed), 1 failed, 2 bad flags.',
    )
    .requiredOption('--image <image>', 'the lib disk image: projects/<p>/global/images/<name> (or a bare name in --project); families are refused')
    .option('--image-version <version>', "the version the image's manifest must have (default: any)")
    .addOption(new Option('--strategy <strategy>', 'per-node: a disk per node, deleted with it; shared: one read-only disk per zone and image').choices(STRATEGIES).default('per-node'))
    .option('--disk-type <type>', 'auto (shared: hyperdisk-ml where the series allows, else pd-balanced; per-node: pd-balanced) or a disk type', 'auto')
    .option('--disk-prefix <prefix>', 'disk names start with this', 'sdfleet-lib')
    .option('--size-gb <n>', "disk size in GB (default: the image's size)", intOption('--size-gb', 1, 65536))
    .addOption(new Option('--hyperdisk-ml-series <list>', 'machine series that can attach Hyperdisk ML, comma-separated').argParser(seriesList).default([...HYPERDISK_ML_SERIES], HYPERDISK_ML_SERIES.join(',')))
    .option('--node-name <name>', 'this node = its GCE instance (default: NODE_NAME, set from the Downward API spec.nodeName)')
    .option('--project <id>', 'the project of the instance and the disks (default: the metadata server)')
    .option('--zone <zone>', "the instance's zone (default: the metadata server)")
    .option('--mount-dir <dir>', 'the mount point on the host; WebUI pods mount its parent as a hostPath with HostToContainer', absolutePath('--mount-dir'), '/mnt/disks/sdfleet/lib')
    .option('--marker <file>', 'the ready marker on the host, outside the read-only mount (default <parent of --mount-dir>/.sdfleet-ready); give it to the wrapper as --lib-marker', absolutePath('--marker'))
    .option('--fs-type <type>', "the image's file system (ext4 mounts ro,noload)", 'ext4')
    .addOption(new Option('--verify <mode>', 'none: manifest version only; sizes: every file there with its size; full: and its sha256').choices(VERIFY_MODES).default('sizes'))
    .option('--manifest <file>', "the manifest's name at the disk's root", MANIFEST_FILE)
    .option('--by-id-dir <dir>', 'where attached disks appear, on the host', absolutePath('--by-id-dir'), '/dev/disk/by-id')
    .option('--host-root <dir>', "where the host's root file system is seen from here (default /proc/1/root in a pod, / outside)")
    .option('--taint <key>', 'the startup taint to remove from the node once the disk is ready', DEFAULT_STARTUP_TAINT)
    .option('--no-taint', 'leave the node\'s taints alone')
    .option('--kubeconfig <file>', 'kubeconfig for the taint (default: in-cluster, then ~/.kube/config)')
    .option('--compute-endpoint <url>', 'the Compute API (default Google\'s); e.g. http://127.0.0.1:8089 for a fake')
    .option('--metadata-host <host[:port]>', 'the metadata server (default GCE_METADATA_HOST, then 169.254.169.254)')
    .option('--device-timeout <seconds>', 'how long the device may take to appear after the attach', secondsOption('--device-timeout'), 120)
    .option('--operation-timeout <seconds>', 'how long one Compute operation (create, attach) may take', secondsOption('--operation-timeout'), 600)
    .option('--dry-run', 'look, print the plan, change nothing')
    .option('--once', 'one pass, then exit (default: keep running, look again every --recheck seconds)')
    .option('--recheck <seconds>', 'between passes when running on', secondsOption('--recheck'), 60)
    .option('--metrics-port <port>', 'serve /metrics and /healthz here; 0: do not serve', intOption('--metrics-port', 0, 65535), 9102)
    .option('--metrics-host <address>', 'address for /metrics (default 0.0.0.0 in a pod, 127.0.0.1 outside)')
    .option('--nsenter <path>', 'nsenter, used to mount in the host\'s mount namespace', 'nsenter')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (f: LibDiskFlags) => (await import('./lib-disk-start.ts')).runLibDisk(f));
}

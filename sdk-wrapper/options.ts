import type { Logger } from '../common/log.ts';

/** Everything the wrapper can be told. Defaults are those of `withDefaults` below. */
export interface WrapperOptions {
  /** The WebUI's argv. `{port}` in any argument is replaced by `webuiPort`. */
  command: string[];

  /** The lib disk's mount point. Default /opt/sdfleet/lib. */
  libDir: string;
  /** The lib dir must be a mount point. Default: on in a pod (KUBERNETES_SERVICE_HOST set), off elsewhere. */
  libRequireMount: boolean;
  /** Marker file; default `<libDir>/.sdfleet-ready`. */
  libMarker?: string;
  /** Required marker version; any when absent. */
  libVersion?: string;
  /** Paths that must exist on the lib disk (relative to libDir, or absolute). */
  libRequire: string[];
  /** Give up waiting for the lib disk after this long. Default 10 min. */
  libTimeoutMs: number;
  /** Python venv on the lib disk, put first on PATH. Default `<libDir>/venv` when it exists. */
  libVenv?: string;

  /** Port the WebUI listens on. Default 7860. */
  webuiPort: number;
  /** Host the wrapper reaches the WebUI at. Default 127.0.0.1. */
  webuiHost: string;
  /** Path that answers 2xx once the WebUI serves. Default /internal/ping. */
  webuiPingPath: string;
  /** From start until the WebUI answers. Default 10 min (the real one loads torch and a model). */
  webuiStartTimeoutMs: number;
  /** Make sure the model is loaded before Ready. Default true. */
  warmup: boolean;
  /** Checkpoint to load before Ready; the WebUI's default when absent. */
  model?: string;
  /** For the warm-up, after the WebUI answers. Default 5 min. */
  warmupTimeoutMs: number;

  /** Root of the users' stores; outputs go to `<userStore>/<user>/`. Default ./user-store. */
  userStore: string;
  /** On release, how long a running generation may go on before it is interrupted. Default 2 min. */
  releaseGraceMs: number;
  /** SIGTERM → SIGKILL for the WebUI when stopping. Default 20 s. */
  stopGraceMs: number;

  /** Liveness of the WebUI after Ready: interval, per-ping timeout, misses in a row that mean "hung". */
  livenessIntervalMs: number;
  livenessTimeoutMs: number;
  livenessFailures: number;
  /** How often to look at the WebUI's progress while allocated. Default 1 s. */
  activityPollMs: number;
  /** Activity annotations at most this often. Default 10 s. */
  activityReportMs: number;

  /** The SDK server's gRPC port; the SDK's own default (AGONES_SDK_GRPC_PORT, else 9357) when absent. */
  sdkGrpcPort?: number;
  /** Give up connecting to the SDK server after this long. Default 30 s, as the SDK's own connect(). */
  sdkTimeoutMs: number;
  /** Serve Prometheus metrics on this port; off when undefined. */
  metricsPort?: number;
  /** Environment of the WebUI process (the wrapper's own by default). */
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

export type WrapperInput = Partial<WrapperOptions> & Pick<WrapperOptions, 'command' | 'logger'>;

export function withDefaults(input: WrapperInput, env: NodeJS.ProcessEnv = process.env): WrapperOptions {
  return {
    sdkTimeoutMs: 30_000,
    libDir: '/opt/sdfleet/lib',
    libRequireMount: env.KUBERNETES_SERVICE_HOST !== undefined,
    libRequire: [],
    libTimeoutMs: 600_000,
    webuiPort: 7860,
    webuiHost: '127.0.0.1',
    webuiPingPath: '/internal/ping',
    webuiStartTimeoutMs: 600_000,
    warmup: true,
    warmupTimeoutMs: 300_000,
    userStore: './user-store',
    releaseGraceMs: 120_000,
    stopGraceMs: 20_000,
    livenessIntervalMs: 5_000,
    livenessTimeoutMs: 5_000,
    livenessFailures: 3,
    activityPollMs: 1_000,
    activityReportMs: 10_000,
    env,
    ...stripUndefined(input),
    command: input.command,
    logger: input.logger,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Exit codes of `sdfleet wrapper`, so a pod's last state says what went wrong. */
export const EXIT = {
  /** Released and shut down, or stopped by SIGTERM. */
  ok: 0,
  internal: 1,
  usage: 2,
  /** The lib disk never became ready. */
  libDisk: 3,
  /** The WebUI did not start, answer or warm up in time. */
  webuiStart: 4,
  /** The WebUI exited or stopped answering after it had started. */
  webuiDied: 5,
  /** No Agones SDK server to talk to. */
  sdk: 6,
} as const;

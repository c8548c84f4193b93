/**
 * The environment variables sdfleet reads, in one place. Secrets come only from here,
 * never from flags or files in the repo.
 */
export interface SdfleetEnv {
  /** Set by Kubernetes in every pod: the wrapper then requires the lib disk to be a mount. */
  inPod: boolean;
  /** Port the WebUI should listen on, set by the embedded runner from the GameServer's port. */
  webuiPort: number | undefined;
  /** Agones' SDK ports (the SDK client reads AGONES_SDK_GRPC_PORT itself). */
  sdkGrpcPort: number | undefined;
  sdkHttpPort: number | undefined;
  /** Bearer token the embedded control plane requires (SDFLEET_CONTROL_PLANE_TOKEN). */
  controlPlaneToken: string | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): SdfleetEnv {
  return {
    inPod: env.KUBERNETES_SERVICE_HOST !== undefined,
    webuiPort: intOrUndefined(env.SDFLEET_WEBUI_PORT, 'SDFLEET_WEBUI_PORT'),
    sdkGrpcPort: intOrUndefined(env.AGONES_SDK_GRPC_PORT, 'AGONES_SDK_GRPC_PORT'),
    sdkHttpPort: intOrUndefined(env.AGONES_SDK_HTTP_PORT, 'AGONES_SDK_HTTP_PORT'),
    controlPlaneToken: env.SDFLEET_CONTROL_PLANE_TOKEN || undefined,
  };
}

function intOrUndefined(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${v}"`);
  return n;
}

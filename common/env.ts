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

  // The allocator's identity layer (allocator/identity/README.md says what each means).
  /** SDFLEET_IDENTITY: how users sign in. Unset: the command picks (`sdfleet up`: dev). */
  identityMode: IdentityModeName | undefined;
  /** SDFLEET_TOKENS: `alice:<token>,bob:<token>`, raw; allocator/identity parses and checks it. */
  tokens: string | undefined;
  /** SDFLEET_COOKIE_SECRET: the key session cookies are signed with (≥ 32 bytes). */
  cookieSecret: string | undefined;
  /** SDFLEET_COOKIE_SECRET_PREVIOUS: the key before the last rotation, still accepted. */
  previousCookieSecret: string | undefined;
  /** SDFLEET_ADMINS: comma-separated identity ids (names or e-mails) that are admins. */
  admins: string[];
  /** SDFLEET_IAP_AUDIENCE: `/projects/<number>/global/backendServices/<id>`. */
  iapAudience: string | undefined;
  /** SDFLEET_IAP_JWKS_URL: where IAP's public keys are; default Google's. */
  iapJwksUrl: string | undefined;
  /** SDFLEET_IDENTITY_HEADER: the header an auth proxy puts the user in, e.g. x-forwarded-email. */
  identityHeader: string | undefined;
  /** SDFLEET_IDENTITY_HEADER_ENABLED=true: the explicit opt-in header mode requires. */
  identityHeaderEnabled: boolean;
  /** SDFLEET_TRUSTED_PROXIES: comma-separated addresses or CIDRs whose identity header is believed. */
  trustedProxies: string[];
  /**
   * SDFLEET_ORIGINS: comma-separated origins the allocator is reached at (e.g.
   * `https://sd.example.com`): the only pages allowed to change things and open sockets.
   * Unset: the request's own Host.
   */
  origins: string[];

  // The lib-disk node agent.
  /** NODE_NAME: the node the pod runs on, from the Downward API (fieldRef spec.nodeName). */
  nodeName: string | undefined;
  /**
   * GCE_METADATA_HOST (then GCE_METADATA_IP): `host[:port]` of the metadata server, the
   * convention of Google's Node libraries (gcp-metadata); unset means 169.254.169.254.
   */
  gceMetadataHost: string | undefined;
}

export type IdentityModeName = 'dev' | 'token' | 'iap' | 'header';
const IDENTITY_MODES: readonly string[] = ['dev', 'token', 'iap', 'header'];

export function readEnv(env: NodeJS.ProcessEnv = process.env): SdfleetEnv {
  return {
    inPod: env.KUBERNETES_SERVICE_HOST !== undefined,
    webuiPort: intOrUndefined(env.SDFLEET_WEBUI_PORT, 'SDFLEET_WEBUI_PORT'),
    sdkGrpcPort: intOrUndefined(env.AGONES_SDK_GRPC_PORT, 'AGONES_SDK_GRPC_PORT'),
    sdkHttpPort: intOrUndefined(env.AGONES_SDK_HTTP_PORT, 'AGONES_SDK_HTTP_PORT'),
    controlPlaneToken: env.SDFLEET_CONTROL_PLANE_TOKEN || undefined,
    identityMode: identityMode(env.SDFLEET_IDENTITY),
    tokens: env.SDFLEET_TOKENS || undefined,
    cookieSecret: env.SDFLEET_COOKIE_SECRET || undefined,
    previousCookieSecret: env.SDFLEET_COOKIE_SECRET_PREVIOUS || undefined,
    admins: list(env.SDFLEET_ADMINS),
    iapAudience: env.SDFLEET_IAP_AUDIENCE || undefined,
    iapJwksUrl: env.SDFLEET_IAP_JWKS_URL || undefined,
    identityHeader: env.SDFLEET_IDENTITY_HEADER || undefined,
    identityHeaderEnabled: env.SDFLEET_IDENTITY_HEADER_ENABLED === 'true',
    trustedProxies: list(env.SDFLEET_TRUSTED_PROXIES),
    origins: list(env.SDFLEET_ORIGINS),
    nodeName: env.NODE_NAME || undefined,
    gceMetadataHost: env.GCE_METADATA_HOST || env.GCE_METADATA_IP || undefined,
  };
}

function identityMode(v: string | undefined): IdentityModeName | undefined {
  if (v === undefined || v === '') return undefined;
  if (!IDENTITY_MODES.includes(v)) throw new Error(`SDFLEET_IDENTITY must be one of ${IDENTITY_MODES.join(', ')}, got "${v}"`);
  return v as IdentityModeName;
}

/** A comma-separated list, items trimmed, empty items dropped. */
function list(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function intOrUndefined(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${v}"`);
  return n;
}

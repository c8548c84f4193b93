import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { IdentityError } from './errors.ts';
import { emailId, validName } from './names.ts';
import type { HeaderOptions } from './types.ts';

/** Headers no auth proxy uses for identity and that clients set freely. */
const RESERVED = new Set(['host', 'cookie', 'authorization', 'origin', 'referer', 'user-agent', 'content-type', 'x-forwarded-for']);

/**
 * The identity an auth proxy (oauth2-proxy, IAP without JWT checks, …) states in a header.
 * It proves nothing by itself: it is believed only because the operator enabled this mode
 * and, with trustedProxies, only from those peers.
 */
export class HeaderIdentity {
  readonly name: string;
  readonly #trusted: BlockList | undefined;

  constructor(o: HeaderOptions | undefined) {
    if (!o || o.enabled !== true) {
      throw new Error('header mode believes a request header anyone who reaches the allocator can set; it runs only behind an auth proxy and when enabled explicitly (SDFLEET_IDENTITY_HEADER_ENABLED=true, header.enabled: true)');
    }
    const name = o.name.trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name) || RESERVED.has(name)) throw new Error(`the identity header must be a custom header name such as x-forwarded-email, got "${o.name}"`);
    this.name = name;
    if (o.trustedProxies && o.trustedProxies.length > 0) {
      this.#trusted = new BlockList();
      for (const entry of o.trustedProxies) addToBlockList(this.#trusted, entry);
    }
  }

  /** Whether the proxies are restricted (false: every peer is believed). */
  get restricted(): boolean {
    return this.#trusted !== undefined;
  }

  /** Whether the direct peer of this connection may set the header. */
  trusts(req: IncomingMessage): boolean {
    return this.trustsPeer(req.socket.remoteAddress);
  }

  /** Whether a peer at this address may set the header. */
  trustsPeer(address: string | undefined): boolean {
    if (!this.#trusted) return true;
    const peer = normalise(address);
    if (peer === undefined) return false;
    return this.#trusted.check(peer, isIP(peer) === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The identity id the header states (an e-mail, lower-cased, or a name); undefined when the
   * header is absent or the peer is not trusted; a 401 when it holds no usable identity.
   */
  read(req: IncomingMessage): string | undefined {
    return this.readValue(req.headers[this.name], req.socket.remoteAddress);
  }

  /** `read` from the header's value and the peer's address. */
  readValue(raw: string | string[] | undefined, peer: string | undefined): string | undefined {
    if (raw === undefined || !this.trustsPeer(peer)) return undefined;
    // Node joins repeated custom headers with ", ": two identities are no identity.
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    const id = value.includes('@') ? emailId(value) : validName(value);
    if (id === undefined) throw new IdentityError('header_invalid', 'header', `the ${this.name} header holds no single e-mail or name; check the auth proxy's configuration`);
    return id;
  }
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
function normalise(addr: string | undefined): string | undefined {
  if (addr === undefined) return undefined;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1] : addr;
}

function addToBlockList(list: BlockList, entry: string): void {
  const [addr, bits, extra] = entry.trim().split('/');
  const type = isIP(addr ?? '');
  if (type === 0 || extra !== undefined) throw new Error(`trusted proxy "${entry}" is not an IP address or CIDR (10.0.0.0/8, ::1)`);
  const family = type === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) {
    list.addAddress(addr!, family);
    return;
  }
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 6 ? 128 : 32)) throw new Error(`trusted proxy "${entry}" has a bad prefix length`);
  list.addSubnet(addr!, prefix, family);
}

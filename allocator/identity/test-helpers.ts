import type { IncomingMessage } from 'node:http';

/** Enough of an IncomingMessage for the identity layer: headers (lower-case names), method, peer address. */
export function fakeRequest(headers: Record<string, string | string[]> = {}, method = 'GET', remoteAddress = '127.0.0.1'): IncomingMessage {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { headers: lower, method, url: '/', socket: { remoteAddress } } as unknown as IncomingMessage;
}

/**
 * What the benches' load clients share: a keep-alive request that reads the whole answer
 * as text, and a dev sign-in that returns the user's cookie and CSRF token.
 */
import http from 'node:http';

export interface TextAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request through `agent`; a `body` is sent as JSON. */
export function request(agent: http.Agent, base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<TextAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Signs `name` in (dev identity): the session cookie ('name=value') and the CSRF token.
 * Throws `signin <status>` when the allocator does not sign the user in.
 */
export async function devSignIn(agent: http.Agent, base: string, name: string): Promise<{ cookie: string; csrf: string }> {
  const r = await request(agent, base, 'POST', '/_sdfleet/api/v1/signin', { origin: base }, JSON.stringify({ name }));
  const cookie = String(r.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  if (r.status !== 200 || !cookie) throw new Error(`signin ${r.status}`);
  const me = await request(agent, base, 'GET', '/_sdfleet/api/v1/me', { cookie });
  return { cookie, csrf: (JSON.parse(me.text) as { csrfToken: string }).csrfToken };
}

/**
 * The processes of `sdfleet bench proxy`: the backend (the instance stand-in), and each
 * target the load goes to: the backend directly, the sdfleet proxy, configurable-http-proxy,
 * nginx, and (on request) the floor of a Node proxy (`proxy-relay.ts`). Each is its own process on loopback; `stop()` ends it and waits.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/net.ts';
import { processTree } from './proxy-tools.ts';

export type TargetName = 'direct' | 'sdfleet' | 'configurable-http-proxy' | 'nginx' | 'node-relay';
export const TARGET_NAMES: readonly TargetName[] = ['direct', 'sdfleet', 'configurable-http-proxy', 'nginx', 'node-relay'];
/** What a run measures unless `--targets` says otherwise (node-relay is a reference, asked for by name). */
export const DEFAULT_TARGETS: readonly TargetName[] = ['direct', 'sdfleet', 'configurable-http-proxy', 'nginx'];

export interface Running {
  name: TargetName;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The proxy's processes (none for direct), for CPU and RSS readings. */
  pids(): number[];
  stop(): Promise<void>;
}

export interface Backend {
  port: number;
  /** TCP connections the backend has accepted so far. */
  connections(): Promise<number>;
  stop(): Promise<void>;
}

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));

/** Ends a child: SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

/** Forks a TypeScript file that sends `{ port }` when it listens. */
function forkListening(file: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(here(file), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start listening within 30 s`));
    }, 30_000);
    child.once('message', (m: { port?: number }) => {
      clearTimeout(t);
      if (typeof m.port === 'number') resolve({ child, port: m.port });
      else reject(new Error(`${file} sent ${JSON.stringify(m)} instead of its port`));
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${file} exited with ${code} before listening`));
    });
  });
}

/** Polls `url` until it answers 200 (a proxy is up and reaches the backend). */
async function until200(url: string, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e) => { last = e.message; resolve(0); });
      req.setTimeout(1000, () => req.destroy());
    });
    if (status === 200) return;
    if (status) last = `HTTP ${status}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer 200 at ${url} within ${ms} ms (last: ${last})`);
}

export async function startBackend(): Promise<Backend> {
  const { child, port } = await forkListening('./proxy-backend.ts');
  return {
    port,
    connections: () => new Promise((resolve) => {
      child.once('message', (m: { connections: number }) => resolve(m.connections));
      child.send('stats');
    }),
    stop: () => stopChild(child),
  };
}

export function direct(backendPort: number): Running {
  return { name: 'direct', url: `http://127.0.0.1:${backendPort}`, pids: () => [], stop: async () => undefined };
}

export async function startSdfleet(backendPort: number): Promise<Running> {
  const { child, port } = await forkListening('./proxy-server.ts', { TARGET_PORT: String(backendPort) });
  const url = `http://127.0.0.1:${port}`;
  await until200(`${url}/`, 'the sdfleet proxy');
  return { name: 'sdfleet', url, pids: () => (child.pid ? [child.pid] : []), stop: () => stopChild(child) };
}

/** The floor of a Node proxy (`proxy-relay.ts`): Node's parser, no checks, bytes piped back. */
export async function startNodeRelay(backendPort: number): Promise<Running> {
  const { child, port } = await forkListening('./proxy-relay.ts', { TARGET_PORT: String(backendPort) });
  const url = `http://127.0.0.1:${port}`;
  await until200(`${url}/`, 'the Node relay');
  return { name: 'node-relay', url, pids: () => (child.pid ? [child.pid] : []), stop: () => stopChild(child) };
}

/**
 * Starts a server on a port from `freePort`, waiting for it to answer 200; if it exits
 * first (the port was taken meanwhile: other processes open connections from the same
 * range), tries again on another port, three times in all.
 */
async function startOnFreePort(what: string, start: (port: number) => Promise<{ child: ChildProcess; output: () => string }>): Promise<{ child: ChildProcess; port: number }> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const { child, output } = await start(port);
    const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
    try {
      const r = await Promise.race([until200(`http://127.0.0.1:${port}/`, what, 30_000), exited]);
      if (r !== 'exited') return { child, port };
      last = `${what} exited at start: ${output().trim().slice(-500)}`;
    } catch (err) {
      await stopChild(child);
      throw err;
    }
  }
  throw new Error(`${last} (three tries)`);
}

/** Keeps the last few KB a child writes, for an error message. */
function tail(child: ChildProcess): () => string {
  let text = '';
  const keep = (c: Buffer): void => { text = (text + c.toString()).slice(-4000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

/** configurable-http-proxy from npm (the devDependency), its CLI with a default route to the backend. */
export async function startChp(backendPort: number): Promise<Running> {
  const pkg = createRequire(import.meta.url).resolve('configurable-http-proxy/package.json');
  const bin = join(pkg, '..', 'bin', 'configurable-http-proxy');
  const { child, port } = await startOnFreePort('configurable-http-proxy', async (p) => {
    let apiPort = await freePort();
    while (apiPort === p) apiPort = await freePort(); // the OS may hand out the same free port twice
    const c = spawn(process.execPath, [
      bin, '--ip', '127.0.0.1', '--port', String(p), '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
      '--default-target', `http://127.0.0.1:${backendPort}`, '--log-level', 'error',
    ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: randomBytes(16).toString('hex') } });
    return { child: c, output: tail(c) };
  });
  return { name: 'configurable-http-proxy', url: `http://127.0.0.1:${port}`, pids: () => (child.pid ? processTree(child.pid) : []), stop: () => stopChild(child) };
}

/**
 * The nginx config: one worker (the Node proxies have one thread for JavaScript too),
 * an upstream keep-alive pool, HTTP/1.1 with Connection cleared (or Upgrade for a
 * WebSocket), and no buffering either way (stream as the sdfleet proxy does).
 */
export function nginxConfig(dir: string, port: number, backendPort: number): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 64;
  }
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' '';
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
    }
  }
}
`;
}

/** Debian's nginx with a generated config in `dir`, on loopback. */
export async function startNginx(backendPort: number, dir: string): Promise<Running> {
  await mkdir(dir, { recursive: true });
  const { child, port } = await startOnFreePort('nginx', async (p) => {
    await writeFile(join(dir, 'nginx.conf'), nginxConfig(dir, p, backendPort));
    const c = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    return { child: c, output: tail(c) };
  });
  // SIGTERM: nginx's fast shutdown; the master ends its workers before it exits.
  return { name: 'nginx', url: `http://127.0.0.1:${port}`, pids: () => (child.pid ? processTree(child.pid) : []), stop: () => stopChild(child) };
}

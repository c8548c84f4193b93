/**
 * The proxy's own answers: each as HTML for a browser navigation (Accept names text/html)
 * and as JSON `{"error":{"code","message"}}` otherwise. `answer` builds them once, so the
 * HTTP path and the WebSocket path (a raw socket) send the same thing.
 */
import { STATUS_CODES } from 'node:http';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/html');
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, bodyHtml: string, extraHead = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${extraHead}
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}a{color:#0b57d0}</style>
</head><body><h1>${escapeHtml(title)}</h1>${bodyHtml}</body></html>
`;
}

const NO_STORE = { 'Cache-Control': 'no-store' };

function json(status: number, code: string, message: string, extra: Record<string, string> = {}): Answer {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...NO_STORE, ...extra },
    body: JSON.stringify({ error: { code, message } }),
  };
}

function html(status: number, body: string, extra: Record<string, string> = {}): Answer {
  return { status, headers: { 'Content-Type': 'text/html; charset=utf-8', ...NO_STORE, ...extra }, body };
}

/** No session: a browser goes to the start page; an API client gets 401 (not signed in) or 404 (no instance). */
export function noSessionAnswer(startPage: string, accept: string | undefined, signedIn: boolean): Answer {
  if (wantsHtml(accept)) return { status: 302, headers: { Location: startPage, ...NO_STORE }, body: '' };
  return signedIn
    ? json(404, 'no_session', `you have no running instance: start one at ${startPage}`)
    : json(401, 'not_signed_in', `sign in at ${startPage} first`);
}

/** The instance has ended. */
export function goneAnswer(startPage: string, accept: string | undefined, reason: string): Answer {
  const message = `your instance has ended: ${reason}`;
  if (!wantsHtml(accept)) return json(503, 'instance_gone', `${message}; start a new one at ${startPage}`);
  return html(503, page('Your instance has ended', `<p>${escapeHtml(message)}.</p><p>Your images are kept. <a href="${escapeHtml(startPage)}">Start again</a>.</p>`));
}

/** Allocated, not answering yet. */
export function startingAnswer(accept: string | undefined, retryAfterSec: number): Answer {
  const retry = { 'Retry-After': String(retryAfterSec) };
  if (!wantsHtml(accept)) return json(503, 'instance_starting', `your instance is starting: retry in ${retryAfterSec} s`, retry);
  return html(503, page('Your instance is starting', '<p>This page reloads by itself when it is ready.</p>', `<meta http-equiv="refresh" content="${retryAfterSec}">`), retry);
}

/** The instance did not answer (503) or something else failed (500). */
export function errorAnswer(status: number, code: string, message: string, accept: string | undefined, startPage: string): Answer {
  if (!wantsHtml(accept)) return json(status, code, message);
  const title = status === 503 ? 'Your instance is not answering' : 'Something went wrong';
  return html(status, page(title, `<p>${escapeHtml(message)}</p><p><a href="">Try again</a>, or go to the <a href="${escapeHtml(startPage)}">start page</a>.</p>`));
}

/** A refused request (400): JSON, or a short page. */
export function refusalAnswer(code: string, message: string, accept: string | undefined): Answer {
  if (!wantsHtml(accept)) return json(400, code, message);
  return html(400, page('Bad request', `<p>${escapeHtml(message)}</p>`));
}

/** The answer as raw HTTP/1.1 bytes, for a socket that asked to upgrade. */
export function rawAnswer(a: Answer): string {
  const body = Buffer.byteLength(a.body);
  let s = `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? ''}\r\n`;
  for (const [k, v] of Object.entries(a.headers)) s += `${k}: ${v}\r\n`;
  return `${s}Content-Length: ${body}\r\nConnection: close\r\n\r\n${a.body}`;
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Authentication, IdentityService } from '../identity/index.ts';

const STATIC = fileURLToPath(new URL('./static/', import.meta.url));
const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'";

/**
 * The pages under /_sdfleet/: start (sign in, Start, live progress), session (the bar above
 * the WebUI), images (My images), admin. Plain HTML + a script each, no build step; the
 * identity mode and its banner are put into the HTML.
 */
export function pagesRouter(o: { identity: IdentityService }): express.Router {
  const r = express.Router();
  const fill = (file: string): string =>
    readFileSync(STATIC + file, 'utf8')
      .replaceAll('{{MODE}}', o.identity.mode)
      .replaceAll('{{BANNER}}', escapeHtml(o.identity.banner ?? ''));
  const pages = { start: fill('index.html'), session: fill('session.html'), images: fill('images.html'), admin: fill('admin.html') };
  const send = (res: express.Response, html: string, status = 200): void => {
    res.status(status);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    res.type('html').send(html);
  };
  const auth = (res: express.Response): Authentication | undefined => res.locals.auth as Authentication | undefined;

  r.get('/', (_req, res) => send(res, pages.start));
  r.get('/session', (_req, res) => (auth(res) ? send(res, pages.session) : res.redirect(302, '/_sdfleet/')));
  r.get('/images', (_req, res) => (auth(res) ? send(res, pages.images) : res.redirect(302, '/_sdfleet/')));
  r.get('/admin', (_req, res) => {
    const a = auth(res);
    if (!a) return res.redirect(302, '/_sdfleet/');
    if (!a.identity.admin) return send(res, forbidden(a.identity.name), 403);
    send(res, pages.admin);
  });
  r.use('/static', express.static(STATIC, { index: false, maxAge: '5m' }));
  return r;
}

function forbidden(name: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sdfleet — admins only</title>
<link rel="stylesheet" href="/_sdfleet/static/sdfleet.css"></head><body><main class="card">
<h1 class="brand">Admins only</h1><p>You are signed in as <strong>${escapeHtml(name)}</strong>, who is not an admin of this sdfleet.</p>
<p class="muted">Admins are listed in SDFLEET_ADMINS.</p><p><a class="button" href="/_sdfleet/">Back to the start page</a></p></main></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

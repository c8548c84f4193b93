import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { IdentityService } from '../identity/index.ts';

const STATIC = fileURLToPath(new URL('./static/', import.meta.url));

/**
 * The pages under /_sdfleet/: the start page (sign in, Start, live queue, into the
 * session). The identity mode and its banner are put into the page so it shows the right
 * sign-in.
 */
export function pagesRouter(o: { identity: IdentityService }): express.Router {
  const r = express.Router();
  const page = (file: string): string => readFileSync(STATIC + file, 'utf8');
  const start = page('index.html')
    .replace('{{MODE}}', o.identity.mode)
    .replace('{{BANNER}}', escapeHtml(o.identity.banner ?? ''));
  r.get('/', (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'");
    res.type('html').send(start);
  });
  r.use('/static', express.static(STATIC, { index: false, maxAge: '1h' }));
  return r;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

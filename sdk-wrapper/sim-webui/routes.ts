import express, { type Router } from 'express';
import { fileURLToPath } from 'node:url';
import type { Engine } from './engine.ts';
import { methodNotAllowed, sendValidationError } from './http-errors.ts';
import { parseTxt2ImgRequest } from './txt2img-request.ts';

export interface RoutesContext {
  engine: Engine;
  /** Switches the hang on (for `POST /sim/hang`). */
  hang: () => void;
  /** Called once a txt2img answer has been handed to the OS; drives failAfter / hangAfter. */
  answered: () => void;
  /** What `GET /sim/stats` shows. */
  stats: () => object;
}

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** FastAPI's reading of a boolean query parameter. */
function queryBool(value: unknown): boolean | undefined {
  if (value === undefined) return false;
  const v = String(value).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return undefined;
}

/** A1111's API paths the sim implements, the sim's own controls, and the page. */
export function simRoutes(ctx: RoutesContext): Router {
  const { engine } = ctx;
  const router = express.Router();
  // Parse every POST body as JSON whatever its Content-Type, as FastAPI does for a body model.
  const json = express.json({ type: () => true, limit: '1mb' });

  router.route('/internal/ping').get((_req, res) => {
    res.json({});
  }).all(methodNotAllowed);

  router.route('/sdapi/v1/sd-models').get((_req, res) => {
    res.json(engine.checkpoints);
  }).all(methodNotAllowed);

  router.route('/sdapi/v1/options')
    .get((_req, res) => {
      res.json(engine.getSettings());
    })
    .post(json, async (req, res) => {
      const body: unknown = req.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        sendValidationError(res, [{ loc: ['body'], msg: 'expected a JSON object of settings such as {"outdir_txt2img_samples": "/data/out"}', type: 'type_error.dict' }]);
        return;
      }
      await engine.updateSettings(body as Record<string, unknown>);
      // A1111's set_config returns None: the answer is JSON null.
      res.json(null);
    })
    .all(methodNotAllowed);

  router.route('/sdapi/v1/txt2img').post(json, async (req, res) => {
    const parsed = parseTxt2ImgRequest(req.body);
    if (!parsed.ok) {
      sendValidationError(res, parsed.detail);
      return;
    }
    const result = await engine.txt2img(parsed.request);
    res.once('finish', ctx.answered);
    res.json(result);
  }).all(methodNotAllowed);

  router.route('/sdapi/v1/progress').get((req, res) => {
    const skip = queryBool(req.query.skip_current_image);
    if (skip === undefined) {
      sendValidationError(res, [{ loc: ['query', 'skip_current_image'], msg: 'value could not be parsed to a boolean; use true or false', type: 'type_error.bool' }]);
      return;
    }
    res.json(engine.progress(skip));
  }).all(methodNotAllowed);

  router.route('/sdapi/v1/interrupt').post((_req, res) => {
    engine.interrupt();
    res.json({});
  }).all(methodNotAllowed);

  router.route('/sdapi/v1/skip').post((_req, res) => {
    engine.skip();
    res.json(null);
  }).all(methodNotAllowed);

  router.route('/sim/hang').post((_req, res) => {
    // Answer first, so the caller knows the hang took; everything after waits.
    res.once('finish', ctx.hang);
    res.json({ hung: true });
  }).all(methodNotAllowed);

  router.route('/sim/stats').get((_req, res) => {
    res.json(ctx.stats());
  }).all(methodNotAllowed);

  router.get('/', (_req, res) => {
    res.sendFile('index.html', { root: STATIC_DIR });
  });
  router.use('/sim/static', express.static(STATIC_DIR, { index: false }));
  return router;
}

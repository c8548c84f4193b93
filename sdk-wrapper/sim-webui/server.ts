import express, { type RequestHandler } from 'express';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../common/log.ts';
import { makeCheckpoints } from './checkpoints.ts';
import { Engine, type EngineStats } from './engine.ts';
import { HangSwitch } from './hang-switch.ts';
import { errorHandler, notFoundHandler } from './http-errors.ts';
import { resolveOptions, type SimWebuiOptions } from './options.ts';
import { ProgressSocket } from './progress-socket.ts';
import { simRoutes } from './routes.ts';

/** Why a sim-webui stopped. */
export interface SimWebuiStop {
  /** `closed`: `close()` was called. `fail-after`: the simulated crash of `failAfter`. */
  reason: 'closed' | 'fail-after';
  /** txt2img answers given before it stopped. */
  answered: number;
}

/** `GET /sim/stats`, also `SimWebui.stats()`. */
export interface SimWebuiStats extends EngineStats {
  /** txt2img answers handed to clients (what failAfter / hangAfter count). */
  answered: number;
  hung: boolean;
  uptimeMs: number;
}

/**
 * A running sim-webui. Lifecycle: `startSimWebui` resolves once it listens (after
 * `bootMs`); until `close()` or a `failAfter` crash it answers A1111's API (unless hung);
 * after either, nothing listens and `stopped` has resolved. `close()` is abrupt, like the
 * real process being killed: a running generation is dropped unanswered and unsaved.
 */
export interface SimWebui {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly hung: boolean;
  /** Hang (accept connections, answer nothing) or resume; parked requests then proceed. */
  setHung(hung: boolean): void;
  stats(): SimWebuiStats;
  /** Resolves (never rejects) when the sim has stopped, saying why. */
  readonly stopped: Promise<SimWebuiStop>;
  /** Stops listening, drops every connection and the running job. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a stand-in for AUTOMATIC1111's WebUI API: no model, no GPU; deterministic
 * placeholder pictures made at a configurable pace. For development and tests.
 */
export async function startSimWebui(options: SimWebuiOptions = {}): Promise<SimWebui> {
  const o = resolveOptions(options);
  const logger = o.logger ?? silentLogger();
  const hang = new HangSwitch();
  const engine = new Engine({
    checkpoints: makeCheckpoints(o.models),
    outputDir: o.outputDir,
    stepMs: o.stepMs,
    modelLoadMs: o.modelLoadMs,
    hang,
    logger,
  });

  // The real WebUI opens its port only once the model has loaded: refuse connections until then.
  logger.info({ bootMs: o.bootMs, model: engine.getSettings().sd_model_checkpoint }, 'booting (simulated start-up and model load); not listening yet');
  try {
    await sleep(o.bootMs, undefined, { signal: o.signal });
  } catch (err) {
    throw new Error('sim-webui start was aborted during boot; nothing is listening', { cause: err });
  }

  const startedAt = Date.now();
  let answered = 0;
  let stopping: Promise<void> | undefined;
  let resolveStopped!: (s: SimWebuiStop) => void;
  const stopped = new Promise<SimWebuiStop>((resolve) => (resolveStopped = resolve));

  const setHung = (h: boolean): void => {
    if (h === hang.hung) return;
    hang.set(h);
    logger.warn(h ? 'hung: accepting connections, answering nothing' : 'hang over: answering again');
  };
  const stats = (): SimWebuiStats => ({ ...engine.stats(), answered, hung: hang.hung, uptimeMs: Date.now() - startedAt });

  const app = express();
  app.disable('x-powered-by');
  app.use(parkWhileHung(hang, () => stopping !== undefined));
  app.use(
    simRoutes({
      engine,
      hang: () => setHung(true),
      stats,
      answered: () => {
        answered++;
        if (o.failAfter !== undefined && answered >= o.failAfter) {
          logger.error({ answered }, `simulated crash after ${answered} generation(s) (failAfter)`);
          void stop('fail-after');
        } else if (o.hangAfter !== undefined && answered >= o.hangAfter) {
          setHung(true);
        }
      },
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(logger));

  const server = createServer(app);
  const socket = new ProgressSocket(engine, hang);
  server.on('upgrade', socket.handleUpgrade);
  await listen(server, o.port, o.host);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const url = `http://${urlHost(o.host)}:${port}`;
  logger.info({ url }, 'listening');

  function stop(reason: SimWebuiStop['reason']): Promise<void> {
    stopping ??= (async () => {
      const engineDone = engine.shutdown();
      socket.close();
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      hang.release();
      await Promise.all([engineDone.catch(() => undefined), serverClosed]);
      logger.info({ reason }, 'stopped');
      resolveStopped({ reason, answered });
    })();
    return stopping;
  }

  return {
    url,
    port,
    get hung() {
      return hang.hung;
    },
    setHung,
    stats,
    stopped,
    close: () => stop('closed'),
  };
}

/** While hung, requests wait here (the connection stays open, nothing is sent). */
function parkWhileHung(hang: HangSwitch, stopping: () => boolean): RequestHandler {
  return (_req, _res, next) => {
    if (!hang.hung) {
      next();
      return;
    }
    void hang.whenFree().then(() => {
      if (!stopping()) next();
    });
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint = err.code === 'EADDRINUSE'
        ? 'another process has that port: stop it, or pass another port (0 picks a free one)'
        : 'check the host address';
      reject(new Error(`sim-webui could not listen on ${host}:${port}: ${err.message}; ${hint}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** A host as it goes into a URL: a wildcard address is reached on loopback; IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

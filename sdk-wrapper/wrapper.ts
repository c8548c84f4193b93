import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Logger } from '../common/log.ts';
import { errorMessage } from '../common/errors.ts';
import { resolveSelf } from '../common/self.ts';
import { AgonesSDK, metadataOf, type SdkClientGameServer } from '../fleet/agones/sdk-client.ts';
import { ANNOTATION_RELEASE, ANNOTATION_SESSION, LABEL_USER, SDK_ANNOTATION } from '../fleet/agones/metadata.ts';
import { ActivityReporter } from './activity.ts';
import { LibDiskTimeout, waitForLibDisk } from './lib-disk.ts';
import { WrapperMetrics } from './metrics.ts';
import { EXIT, withDefaults, type WrapperInput, type WrapperOptions } from './options.ts';
import { PhaseClock, phaseTable, type PhaseSummary } from './phases.ts';
import { ensureDir, flushOutputs, outputOptions, userDir } from './user-store.ts';
import { isGenerating, WebuiClient } from './webui-client.ts';
import { WebuiProcess } from './webui-process.ts';

/** A run that ends with an exit code and a reason (annotated on the GameServer). */
export class WrapperFailure extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'WrapperFailure';
    this.exitCode = exitCode;
  }
}

export interface RunningWrapper {
  /** Resolves with the exit code once the wrapper is done (released, failed, or stopped). */
  done: Promise<number>;
  /** SIGTERM: stop the WebUI within its grace period, keep the user's outputs, end with 0. */
  stop(): void;
  /** The phase summary once Ready. */
  readonly phases: PhaseSummary | undefined;
}

/**
 * Starts the wrapper: the GameServer's main process. It gates Ready on the lib disk, a
 * WebUI that answers and a warm model; then follows the GameServer through its session
 * and its release. See sdk-wrapper/README.md for the phases and exit codes.
 */
export function startWrapper(input: WrapperInput): RunningWrapper {
  const w = new Wrapper(withDefaults(input));
  return { done: w.run(), stop: () => w.stop(), get phases() { return w.summary; } };
}

class Wrapper {
  readonly o: WrapperOptions;
  readonly log: Logger;
  readonly clock = new PhaseClock();
  readonly metrics = new WrapperMetrics();
  readonly client: WebuiClient;
  readonly abort = new AbortController();
  sdk: AgonesSDK | undefined;
  webui: WebuiProcess | undefined;
  summary: PhaseSummary | undefined;
  #pinger: NodeJS.Timeout | undefined;
  #liveness: NodeJS.Timeout | undefined;
  #activity: ActivityReporter | undefined;
  #session: { key: string; dir: string; since: number } | undefined;
  #releasing = false;
  #finish!: (code: number) => void;
  #finished = new Promise<number>((resolve) => (this.#finish = resolve));
  #ended = false;
  #work = Promise.resolve();

  constructor(o: WrapperOptions) {
    this.o = o;
    this.log = o.logger;
    this.client = new WebuiClient(`http://${o.webuiHost}:${o.webuiPort}`);
  }

  async run(): Promise<number> {
    const metricsServer = this.o.metricsPort !== undefined ? await this.metrics.serve(this.o.metricsPort) : undefined;
    try {
      try {
        await this.#startUp();
      } catch (err) {
        if (this.abort.signal.aborted) return await this.#finished;
        return await this.#fail(err);
      }
      this.#follow();
      return await this.#finished;
    } finally {
      clearInterval(this.#pinger);
      clearTimeout(this.#liveness);
      this.#activity?.stop();
      await metricsServer?.close();
    }
  }

  stop(): void {
    if (this.abort.signal.aborted) return;
    this.log.info('SIGTERM: stopping the WebUI');
    this.abort.abort(new Error('stopped by signal'));
    void this.#end(EXIT.ok, 'stopped by signal');
  }

  // ---------------------------------------------------------------- start-up

  async #startUp(): Promise<void> {
    const o = this.o;
    const gs = await this.clock.time('sdk', () => this.#connect());
    const meta = gs.objectMeta;
    this.log.info({ gameServer: meta.name, state: gs.status.state }, 'connected to the Agones SDK');
    this.#startPinger(gs);

    await this.clock.time('lib-disk', async () => {
      try {
        const marker = await waitForLibDisk(
          { dir: o.libDir, requireMount: o.libRequireMount, marker: o.libMarker, version: o.libVersion, require: o.libRequire },
          { timeoutMs: o.libTimeoutMs, signal: this.abort.signal, log: this.log },
        );
        this.log.info({ image: marker.image, version: marker.version }, 'lib disk ready');
      } catch (err) {
        if (err instanceof LibDiskTimeout) throw new WrapperFailure(EXIT.libDisk, err.message);
        throw err;
      }
    });

    await this.clock.time('webui-start', async () => {
      this.webui = new WebuiProcess({ command: this.#command(), env: this.#webuiEnv(), log: this.log });
      this.log.info({ pid: this.webui.pid, command: this.o.command.join(' ') }, 'WebUI started');
      await this.#raceExit(this.#waitAnswering(), 'before it answered');
    });

    if (o.warmup) {
      await this.clock.time('warmup', () => this.#raceExit(this.#warmUp(), 'while warming up'));
    }

    await this.clock.time('ready', async () => {
      await this.sdk!.ready();
    });
    this.summary = this.clock.summary(meta.creationTimestamp ? meta.creationTimestamp * 1000 : undefined);
    for (const [phase, ms] of Object.entries(this.summary.phases)) this.metrics.phaseSeconds.set({ phase }, ms / 1000);
    this.metrics.phaseSeconds.set({ phase: 'total' }, this.summary.totalMs / 1000);
    this.log.info({ phases: this.summary }, `Ready. Start-up phases:\n${phaseTable(this.summary)}`);
    await this.#annotate(SDK_ANNOTATION.phases, this.summary);
  }

  async #connect(): Promise<SdkClientGameServer> {
    const sdk = newSdk(this.o.sdkGrpcPort);
    this.sdk = sdk;
    try {
      await Promise.race([
        sdk.connect(),
        sleep(this.o.sdkTimeoutMs).then(() => Promise.reject(new Error(`no answer within ${this.o.sdkTimeoutMs / 1000} s`))),
      ]);
      return await sdk.getGameServer();
    } catch (err) {
      throw new WrapperFailure(
        EXIT.sdk,
        `cannot reach the Agones SDK server at localhost:${sdk.port} (${errorMessage(err)}): ` +
          'in a GameServer the sidecar serves it; on one machine run `sdfleet sdk-server` or set AGONES_SDK_GRPC_PORT',
        { cause: err },
      );
    }
  }

  /** Pings well inside the health period: a third of it, between 100 ms and 2 s. */
  #startPinger(gs: SdkClientGameServer): void {
    const periodMs = (gs.spec.health.periodSeconds || 5) * 1000;
    const every = Math.min(2000, Math.max(100, Math.floor(periodMs / 3)));
    let warned = false;
    const ping = (): void =>
      this.sdk!.health((err) => {
        if (!warned) this.log.warn({ err: errorMessage(err) }, 'health ping failed');
        warned = true;
      });
    ping();
    this.#pinger = setInterval(ping, every);
  }

  #command(): string[] {
    return resolveSelf(this.o.command.map((a) => a.replaceAll('{port}', String(this.o.webuiPort))));
  }

  #webuiEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.o.env, SDFLEET_WEBUI_PORT: String(this.o.webuiPort) };
    const venv = this.o.libVenv ?? join(this.o.libDir, 'venv');
    if (existsSync(join(venv, 'bin'))) {
      env.VIRTUAL_ENV = venv;
      env.PATH = [join(venv, 'bin'), env.PATH].filter(Boolean).join(delimiter);
    }
    return env;
  }

  /**
   * Polls the ping path every 10 ms at first, backing off to 25 ms: a refused connection
   * on loopback costs next to nothing, and Ready should follow the WebUI within tens of ms.
   */
  async #waitAnswering(): Promise<void> {
    const deadline = Date.now() + this.o.webuiStartTimeoutMs;
    let delay = 10;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.abort.signal.aborted) throw this.abort.signal.reason;
      try {
        await this.client.ping(this.o.webuiPingPath, Math.max(200, Math.min(2000, deadline - Date.now())));
        return;
      } catch (err) {
        last = errorMessage(err);
      }
      await sleep(delay, this.abort.signal);
      delay = Math.min(25, Math.ceil(delay * 1.5));
    }
    throw new WrapperFailure(
      EXIT.webuiStart,
      `the WebUI did not answer GET ${this.o.webuiPingPath} on ${this.o.webuiHost}:${this.o.webuiPort} within ` +
        `${Math.round(this.o.webuiStartTimeoutMs / 1000)} s (last: ${last}). Check its log above, that it listens on that ` +
        `port (--webui-port, {port} in the command) and serves the API (--api), and --webui-start-timeout for slow disks`,
    );
  }

  async #warmUp(): Promise<void> {
    const timeoutMs = this.o.warmupTimeoutMs;
    const started = Date.now();
    try {
      if (this.o.model) {
        const current = (await this.client.options()).sd_model_checkpoint;
        if (current !== this.o.model) {
          this.log.info({ model: this.o.model, current }, 'loading the model');
          await this.client.setOptions({ sd_model_checkpoint: this.o.model }, timeoutMs);
        }
      }
      // One tiny generation: loads the weights onto the GPU and compiles kernels, so the
      // user's first image starts at once. Not saved anywhere.
      const left = Math.max(1000, timeoutMs - (Date.now() - started));
      await this.client.txt2img(
        { prompt: 'sdfleet warm-up', steps: 1, width: 64, height: 64, batch_size: 1, n_iter: 1, save_images: false, send_images: false },
        left,
      );
    } catch (err) {
      throw new WrapperFailure(
        EXIT.webuiStart,
        `the WebUI answers but did not finish the warm-up (model load and one small generation) within ` +
          `${Math.round(timeoutMs / 1000)} s: ${errorMessage(err)}. Check the model name (--model), GPU memory, and the WebUI log above`,
        { cause: err },
      );
    }
  }

  /** `work`, unless the WebUI exits first. */
  async #raceExit<T>(work: Promise<T>, when: string): Promise<T> {
    const webui = this.webui!;
    const exited = webui.exited.then((exit) => {
      throw new WrapperFailure(
        EXIT.webuiStart,
        `the WebUI exited ${when} (code ${exit.code ?? 'none'}${exit.signal ? `, signal ${exit.signal}` : ''}); last lines:\n${webui.tail(15).join('\n')}`,
      );
    });
    exited.catch(() => undefined);
    return Promise.race([work, exited]);
  }

  // ---------------------------------------------------------------- after Ready

  #follow(): void {
    const sdk = this.sdk!;
    sdk.watchGameServer(
      (gs) => {
        this.#work = this.#work.then(() => this.#onGameServer(gs)).catch((err: unknown) => void this.#fail(err));
      },
      (err) => this.log.warn({ err: errorMessage(err) }, 'GameServer watch failed'),
    );
    void this.webui!.exited.then((exit) => {
      if (this.#ended) return;
      void this.#fail(
        new WrapperFailure(
          EXIT.webuiDied,
          `the WebUI exited (code ${exit.code ?? 'none'}${exit.signal ? `, signal ${exit.signal}` : ''}); last lines:\n${this.webui!.tail(15).join('\n')}`,
        ),
      );
    });
    this.#scheduleLiveness(0);
  }

  #scheduleLiveness(misses: number): void {
    this.#liveness = setTimeout(async () => {
      if (this.#ended || this.#releasing) return;
      try {
        await this.client.ping(this.o.webuiPingPath, this.o.livenessTimeoutMs);
        this.#scheduleLiveness(0);
      } catch (err) {
        const n = misses + 1;
        this.log.warn({ misses: n, err: errorMessage(err) }, 'the WebUI missed a liveness ping');
        if (n >= this.o.livenessFailures) {
          void this.#fail(
            new WrapperFailure(
              EXIT.webuiDied,
              `the WebUI stopped answering GET ${this.o.webuiPingPath} (${n} misses in a row, ${this.o.livenessTimeoutMs} ms each): it hangs`,
            ),
          );
        } else {
          this.#scheduleLiveness(n);
        }
      }
    }, this.o.livenessIntervalMs);
  }

  async #onGameServer(gs: SdkClientGameServer): Promise<void> {
    if (this.#ended) return;
    const state = gs.status.state;
    this.metrics.setState(state);
    const { labels, annotations } = metadataOf(gs);
    if (state === 'Allocated') {
      const user = labels[LABEL_USER];
      const key = `${user ?? ''}/${annotations[ANNOTATION_SESSION] ?? ''}`;
      if (user && this.#session?.key !== key) await this.#beginSession(user, key);
      else if (!user && !this.#session) this.log.warn(`allocated without a ${LABEL_USER} label: outputs stay where the WebUI puts them`);
      const reason = annotations[ANNOTATION_RELEASE];
      if (reason !== undefined && !this.#releasing) await this.#release(reason || 'unspecified');
    } else if (state === 'Shutdown' && !this.#releasing) {
      await this.#end(EXIT.ok, 'the GameServer was shut down');
    }
  }

  async #beginSession(user: string, key: string): Promise<void> {
    const dir = userDir(this.o.userStore, user);
    await ensureDir(dir);
    let lastErr: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.client.setOptions(outputOptions(dir));
        lastErr = undefined;
        break;
      } catch (err) {
        lastErr = err;
        await sleep(500 * attempt);
      }
    }
    if (lastErr) {
      throw new WrapperFailure(EXIT.webuiDied, `could not point the WebUI's outputs at ${dir}: ${errorMessage(lastErr)}`);
    }
    this.#session = { key, dir, since: Date.now() };
    this.metrics.sessions.inc();
    this.log.info({ user, dir }, 'session started: outputs go to the user store');
    this.#activity?.stop();
    this.#activity = new ActivityReporter({
      client: this.client,
      pollMs: this.o.activityPollMs,
      minIntervalMs: this.o.activityReportMs,
      log: this.log,
      report: (a) => this.#annotate(SDK_ANNOTATION.activity, a),
      onGenerating: (g) => this.metrics.generating.set(g ? 1 : 0),
    });
    this.#activity.start();
  }

  /** Lets a running generation finish (bounded), makes outputs durable, then Shutdown. */
  async #release(reason: string): Promise<void> {
    this.#releasing = true;
    const started = Date.now();
    this.log.info({ reason }, 'release requested: finishing the running generation, if any');
    let interrupted = false;
    const deadline = started + this.o.releaseGraceMs;
    while (await this.#generating()) {
      if (Date.now() >= deadline) {
        this.log.warn({ graceMs: this.o.releaseGraceMs }, 'generation still running at the end of the release grace: interrupting it');
        await this.client.interrupt().catch(() => undefined);
        interrupted = true;
        const hard = Date.now() + 10_000;
        while (Date.now() < hard && (await this.#generating())) await sleep(200);
        break;
      }
      await sleep(200);
    }
    this.#activity?.stop();
    const files = this.#session ? await flushOutputs(this.#session.dir, this.#session.since) : 0;
    await this.#annotate(SDK_ANNOTATION.released, { reason, at: new Date().toISOString(), interrupted, files, tookMs: Date.now() - started });
    this.log.info({ reason, files, interrupted }, 'outputs are on disk; shutting down');
    try {
      await this.sdk!.shutdown();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'Shutdown() failed; exiting anyway');
    }
    await this.#end(EXIT.ok, `released (${reason})`);
  }

  async #generating(): Promise<boolean> {
    try {
      return isGenerating(await this.client.progress());
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- endings

  async #fail(err: unknown): Promise<number> {
    const code = err instanceof WrapperFailure ? err.exitCode : EXIT.internal;
    const reason = errorMessage(err);
    if (this.#ended) return this.#finished;
    this.log.error({ exitCode: code }, reason);
    // No more pings: Agones marks the GameServer Unhealthy, and the Fleet replaces it.
    clearInterval(this.#pinger);
    const exit = this.webui?.exit;
    if (code !== EXIT.sdk) await this.#annotate(SDK_ANNOTATION.failure, {
      reason: reason.split('\n')[0],
      exitCode: code,
      ...(exit ? { webuiCode: exit.code, webuiSignal: exit.signal } : {}),
      lastLines: this.webui?.tail(20) ?? [],
      at: new Date().toISOString(),
    });
    await this.#end(code, reason.split('\n')[0] ?? reason);
    return this.#finished;
  }

  async #end(code: number, why: string): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#liveness);
    this.#activity?.stop();
    if (this.webui && !this.webui.exit) await this.webui.stop(this.o.stopGraceMs);
    if (this.#session && !this.#releasing) {
      const files = await flushOutputs(this.#session.dir, this.#session.since).catch(() => 0);
      this.log.info({ files }, 'user outputs flushed');
    }
    this.log.info({ exitCode: code }, `wrapper done: ${why}`);
    this.#finish(code);
  }

  /** Sets an SDK annotation (JSON), bounded in time: a missing SDK must not hold an exit up. */
  async #annotate(key: string, value: unknown): Promise<void> {
    if (!this.sdk) return;
    try {
      await Promise.race([
        this.sdk.setAnnotation(key, JSON.stringify(value)),
        sleep(3000).then(() => Promise.reject(new Error('timed out'))),
      ]);
    } catch (err) {
      this.log.warn({ key, err: errorMessage(err) }, 'could not set annotation');
    }
  }
}

/** The SDK client reads its port from the environment when constructed. */
function newSdk(port: number | undefined): AgonesSDK {
  if (port === undefined) return new AgonesSDK();
  const saved = process.env.AGONES_SDK_GRPC_PORT;
  process.env.AGONES_SDK_GRPC_PORT = String(port);
  try {
    return new AgonesSDK();
  } finally {
    if (saved === undefined) delete process.env.AGONES_SDK_GRPC_PORT;
    else process.env.AGONES_SDK_GRPC_PORT = saved;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export { EXIT };

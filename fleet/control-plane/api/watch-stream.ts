/**
 * A watch over HTTP: newline-delimited `{"type":…,"object":…}` on a chunked 200
 * response, until the timeout, the client leaving, or the server stopping. Each stored
 * object's event line is encoded once and shared by every watcher of the same format.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../../../common/log.ts';
import type { RegisteredType } from '../resources/registry.ts';
import { isApiError, type ApiError } from '../store/errors.ts';
import type { KubeObject, ObjectStore, Watch, WatchEvent, WatchOptions } from '../store/types.ts';
import type { IncludeObject, TableConverter } from './table.ts';

export type WatchFormat = { kind: 'json' } | { kind: 'table'; version: 'v1' | 'v1beta1'; include: IncludeObject; converter: TableConverter };

/**
 * Shared by all watches of one server: a change's event line per format, encoded once for
 * every watcher it goes to. The store hands a change to all its watchers in one turn of
 * the event loop, so the lines are kept for that turn only: kept as long as their object
 * (a version in the store's replay history, for minutes), each small Buffer would hold a
 * slab of Node's 8 KiB buffer pool besides. A watch replaying history encodes again.
 */
export class LineCache {
  readonly #lines = new Map<KubeObject, Map<string, Buffer>>();
  #clear: NodeJS.Immediate | undefined;

  get(obj: KubeObject, key: string, make: () => string): Buffer {
    let m = this.#lines.get(obj);
    if (!m) {
      m = new Map();
      this.#lines.set(obj, m);
      if (!this.#clear) {
        this.#clear = setImmediate(() => {
          this.#clear = undefined;
          this.#lines.clear();
        });
      }
    }
    let b = m.get(key);
    if (!b) {
      b = Buffer.from(make());
      m.set(key, b);
    }
    return b;
  }
}

export interface WatchStreamOptions {
  store: ObjectStore;
  type: RegisteredType;
  res: ServerResponse;
  watch: WatchOptions;
  format: WatchFormat;
  timeoutMs: number;
  /** With sendInitialEvents: a BOOKMARK annotated `k8s.io/initial-events-end` after them. */
  initialEventsEnd: boolean;
  /** 410 for too old a resourceVersion: `event` (200 + ERROR event, as the API server) or `status` (HTTP 410). */
  goneAs: 'event' | 'status';
  /** Ends the watch when this much is buffered for a client that does not read. */
  maxBufferedBytes: number;
  lines: LineCache;
  now: () => number;
  logger: Logger;
  contentType: string;
  onEnd: () => void;
}

export interface WatchStream {
  /** Ends the stream cleanly (server stopping). */
  end(): void;
}

/**
 * Starts the watch: throws (before anything is sent) for bad input, and for 410 when
 * `goneAs` is `status`; otherwise answers 200 and streams.
 */
export function startWatchStream(o: WatchStreamOptions): WatchStream {
  const { res, store, type, format, lines } = o;
  let watch: Watch | undefined;
  let live = false;
  let ended = false;
  let first = true;
  const buffered: WatchEvent[] = [];
  const timers: { timeout?: NodeJS.Timeout } = {};

  const end = (): void => {
    if (ended) return;
    ended = true;
    if (timers.timeout) clearTimeout(timers.timeout);
    watch?.stop();
    o.onEnd();
    if (!res.writableEnded) res.end();
  };

  const encode = (e: WatchEvent): Buffer | undefined => {
    if (format.kind === 'json') {
      if (e.type === 'BOOKMARK' || e.type === 'ERROR') return Buffer.from(`{"type":"${e.type}","object":${JSON.stringify(e.object)}}\n`);
      return lines.get(e.object, e.type, () => `{"type":"${e.type}","object":${store.json(e.object)}}\n`);
    }
    if (e.type === 'ERROR') return Buffer.from(`{"type":"ERROR","object":${JSON.stringify(e.object)}}\n`);
    if (e.type === 'BOOKMARK') return undefined;
    const rowOf = (): string =>
      format.converter.rowJson(e.object, o.now(), format.include, format.version, () => store.json(e.object));
    const rv = e.object.metadata.resourceVersion ?? '';
    if (first) {
      first = false;
      return Buffer.from(`{"type":"${e.type}","object":${format.converter.tableJson([rowOf()], rv, format.version, true)}}\n`);
    }
    return lines.get(e.object, `t:${format.version}:${format.include}:${e.type}`, () => `{"type":"${e.type}","object":${format.converter.tableJson([rowOf()], rv, format.version, false)}}\n`);
  };

  const send = (e: WatchEvent): void => {
    if (ended) return;
    if (!live) {
      buffered.push(e);
      return;
    }
    const buf = encode(e);
    if (!buf) return;
    res.write(buf);
    if (res.writableLength > o.maxBufferedBytes) {
      o.logger.warn({ resource: type.key, buffered: res.writableLength }, 'watch client is not reading; closing its watch (it will re-watch)');
      end();
    }
  };

  let goneError: ApiError | undefined;
  try {
    watch = store.watch(type.key, o.watch, send);
  } catch (err) {
    if (isApiError(err) && err.code === 410 && o.goneAs === 'event') goneError = err;
    else throw err;
  }

  res.writeHead(200, { 'Content-Type': o.contentType, 'Cache-Control': 'no-cache, private', 'X-Content-Type-Options': 'nosniff' });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  live = true;
  res.on('close', end);

  if (goneError) {
    // What the API server does once the stream has started: an ERROR event, then the end.
    res.write(`{"type":"ERROR","object":${JSON.stringify(goneError.status)}}\n`);
    end();
    return { end };
  }
  for (const e of buffered.splice(0)) send(e);
  if (o.initialEventsEnd) {
    send({
      type: 'BOOKMARK',
      object: {
        apiVersion: type.apiVersion,
        kind: type.kind,
        metadata: { resourceVersion: store.currentResourceVersion(), annotations: { 'k8s.io/initial-events-end': 'true' } },
      },
    });
  }
  timers.timeout = setTimeout(end, o.timeoutMs);
  return { end };
}

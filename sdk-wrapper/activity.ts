import type { Logger } from '../common/log.ts';
import { isGenerating, type WebuiClient } from './webui-client.ts';

export interface Activity {
  generating: boolean;
  /** Last time a generation was seen running (or the session start). */
  lastActivity: string;
  /** Generations seen starting in this session. */
  generations: number;
}

export interface ActivityReporterOptions {
  client: WebuiClient;
  /** Writes the annotation (through the SDK). */
  report: (a: Activity) => Promise<void>;
  pollMs: number;
  /** At most one report per this many ms. */
  minIntervalMs: number;
  log: Logger;
  onGenerating?: (generating: boolean) => void;
}

/**
 * While a session runs, watches the WebUI's progress and reports activity for the idle
 * reclaimer: at once when nothing was reported for `minIntervalMs`, otherwise at the end
 * of that interval, and only when something changed.
 */
export class ActivityReporter {
  readonly #o: ActivityReporterOptions;
  #timer: NodeJS.Timeout | undefined;
  #pending: NodeJS.Timeout | undefined;
  #current: Activity;
  #reported: string | undefined;
  #lastReportAt = 0;
  #stopped = false;

  constructor(o: ActivityReporterOptions) {
    this.#o = o;
    this.#current = { generating: false, lastActivity: new Date().toISOString(), generations: 0 };
  }

  get current(): Activity {
    return { ...this.#current };
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#pending);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#poll(), ms);
  }

  async #poll(): Promise<void> {
    try {
      const generating = isGenerating(await this.#o.client.progress());
      const was = this.#current.generating;
      if (generating) {
        this.#current = {
          generating: true,
          lastActivity: new Date().toISOString(),
          generations: this.#current.generations + (was ? 0 : 1),
        };
      } else if (was) {
        this.#current = { ...this.#current, generating: false, lastActivity: new Date().toISOString() };
      }
      if (generating !== was) this.#o.onGenerating?.(generating);
      this.#maybeReport();
    } catch (err) {
      this.#o.log.debug({ err: (err as Error).message }, 'could not read WebUI progress');
    }
    this.#schedule(this.#o.pollMs);
  }

  #maybeReport(): void {
    // lastActivity moves every poll while generating; what matters to the reclaimer is
    // the state and that the time is fresh, so compare without it while generating.
    const key = JSON.stringify({ ...this.#current, lastActivity: this.#current.generating ? '' : this.#current.lastActivity });
    if (key === this.#reported && !this.#current.generating) return;
    if (this.#pending) return;
    const wait = Math.max(0, this.#lastReportAt + this.#o.minIntervalMs - Date.now());
    if (key === this.#reported && wait > 0) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      if (this.#stopped) return;
      const snapshot = { ...this.#current };
      this.#lastReportAt = Date.now();
      this.#reported = JSON.stringify({ ...snapshot, lastActivity: snapshot.generating ? '' : snapshot.lastActivity });
      this.#o.report(snapshot).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'could not report activity'));
    }, wait);
  }
}

/** The part of AUTOMATIC1111's HTTP API the wrapper uses. */

export interface Progress {
  progress: number;
  state: { job: string; job_count: number; sampling_step: number; sampling_steps: number; interrupted?: boolean };
}

export class WebuiHttpError extends Error {
  readonly status: number;
  constructor(method: string, path: string, status: number, body: string) {
    super(`WebUI answered ${method} ${path} with HTTP ${status}: ${body.slice(0, 300)}`);
    this.name = 'WebuiHttpError';
    this.status = status;
  }
}

export class WebuiClient {
  readonly base: string;

  constructor(base: string) {
    this.base = base.replace(/\/$/, '');
  }

  async request<T>(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
    const res = await fetch(this.base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new WebuiHttpError(method, path, res.status, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Resolves when `path` answers 2xx within `timeoutMs`. */
  async ping(path: string, timeoutMs: number): Promise<void> {
    await this.request('GET', path, undefined, timeoutMs);
  }

  options(): Promise<Record<string, unknown>> {
    return this.request('GET', '/sdapi/v1/options');
  }

  /** A1111 applies options in place, no restart; setting sd_model_checkpoint loads it first. */
  setOptions(opts: Record<string, unknown>, timeoutMs = 30_000): Promise<unknown> {
    return this.request('POST', '/sdapi/v1/options', opts, timeoutMs);
  }

  models(): Promise<{ title: string; model_name: string }[]> {
    return this.request('GET', '/sdapi/v1/sd-models');
  }

  progress(): Promise<Progress> {
    return this.request('GET', '/sdapi/v1/progress?skip_current_image=true', undefined, 5_000);
  }

  interrupt(): Promise<unknown> {
    return this.request('POST', '/sdapi/v1/interrupt');
  }

  txt2img(body: Record<string, unknown>, timeoutMs: number): Promise<{ images: string[] }> {
    return this.request('POST', '/sdapi/v1/txt2img', body, timeoutMs);
  }
}

/** True while a generation runs (A1111 keeps job_count above 0 or names the job). */
export function isGenerating(p: Progress): boolean {
  return p.state.job_count > 0 || (p.state.job ?? '') !== '';
}

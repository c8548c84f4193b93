/**
 * A1111's `shared.state` as `/sdapi/v1/progress` shows it. Field names are A1111's. As in
 * A1111, `job_count` is 0 when idle and > 0 while a generation runs; `sampling_step` and
 * `sampling_steps` keep their last values after a job ends, so they do not tell idle
 * from running.
 */
export interface StateDict {
  skipped: boolean;
  interrupted: boolean;
  stopping_generation: boolean;
  job: string;
  job_count: number;
  job_timestamp: string;
  job_no: number;
  sampling_step: number;
  sampling_steps: number;
}

/** The answer of `GET /sdapi/v1/progress`, also each WebSocket progress message (with `type`). */
export interface ProgressResponse {
  progress: number;
  eta_relative: number;
  state: StateDict;
  /** Base64 PNG preview of the running job, or null (idle, or `skip_current_image`). */
  current_image: string | null;
  textinfo: string | null;
  current_task: string | null;
}

/** The mutable state of the one engine that owns it; nothing else writes it. */
export class JobState {
  readonly dict: StateDict;
  /** ms since epoch when the current job began (A1111's `time_start`). */
  timeStart = 0;
  currentTask: string | null = null;

  constructor(now: Date) {
    this.dict = {
      skipped: false,
      interrupted: false,
      stopping_generation: false,
      job: '',
      job_count: 0,
      job_timestamp: jobTimestamp(now),
      job_no: 0,
      sampling_step: 0,
      sampling_steps: 0,
    };
  }

  /** A1111's `state.begin`: clears the flags, stamps the job. */
  begin(job: string, jobCount: number, now: Date, task: string): void {
    Object.assign(this.dict, {
      skipped: false,
      interrupted: false,
      stopping_generation: false,
      job,
      job_count: jobCount,
      job_timestamp: jobTimestamp(now),
      job_no: 0,
      sampling_step: 0,
    });
    this.timeStart = now.getTime();
    this.currentTask = task;
  }

  /** A1111's `state.end`: back to idle; the step counters stay as they were. */
  end(): void {
    this.dict.job = '';
    this.dict.job_count = 0;
    this.currentTask = null;
  }

  get running(): boolean {
    return this.dict.job_count > 0;
  }

  /** A1111's `progressapi` arithmetic, without the preview image. */
  progress(nowMs: number): ProgressResponse {
    const state = { ...this.dict };
    if (state.job_count === 0) {
      return { progress: 0, eta_relative: 0, state, current_image: null, textinfo: null, current_task: null };
    }
    let progress = 0.01 + state.job_no / state.job_count;
    if (state.sampling_steps > 0) progress += (1 / state.job_count) * (state.sampling_step / state.sampling_steps);
    const sinceStart = (nowMs - this.timeStart) / 1000;
    const eta = sinceStart / progress - sinceStart;
    return {
      progress: Math.min(progress, 1),
      eta_relative: eta,
      state,
      current_image: null,
      textinfo: null,
      current_task: this.currentTask,
    };
  }
}

/** `YYYYMMDDhhmmss`, local time, A1111's job timestamp. */
export function jobTimestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

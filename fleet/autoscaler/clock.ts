/**
 * Wall-clock time in a time zone (weekday, minute of the day), which schedules and the
 * learned day profile are written in. Intl is slow next to the simulator's millions of
 * questions, so each zone's UTC offset is looked up once per hour and cached.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** 0 = Sunday … 6 = Saturday, as Date#getDay. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export interface LocalTime {
  weekday: Weekday;
  /** Minutes since local midnight, with a fraction. */
  minute: number;
  /** Local midnight of this day, as a UTC-based ms count (for slot arithmetic, not a real instant). */
  localDay: number;
}

export class Clock {
  readonly timeZone: string;
  readonly #fmt: Intl.DateTimeFormat;
  readonly #offsets = new Map<number, number>();

  /** Throws a RangeError naming the zone when it is not an IANA time zone. */
  constructor(timeZone = 'UTC') {
    try {
      this.#fmt = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      throw new RangeError(`time zone "${timeZone}" is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)`);
    }
    this.timeZone = timeZone;
  }

  /** The zone's offset from UTC at `t`, in ms. */
  offsetAt(t: number): number {
    const hour = Math.floor(t / HOUR_MS);
    const cached = this.#offsets.get(hour);
    if (cached !== undefined) return cached;
    const parts: Record<string, number> = {};
    for (const p of this.#fmt.formatToParts(new Date(hour * HOUR_MS))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
    const offset = asUtc - hour * HOUR_MS;
    if (this.#offsets.size > 50_000) this.#offsets.clear();
    this.#offsets.set(hour, offset);
    return offset;
  }

  local(t: number): LocalTime {
    const l = t + this.offsetAt(t);
    const localDay = Math.floor(l / DAY_MS) * DAY_MS;
    // 1970-01-01 was a Thursday (4).
    const weekday = ((((Math.floor(l / DAY_MS) + 4) % 7) + 7) % 7) as Weekday;
    return { weekday, minute: (l - localDay) / 60_000, localDay };
  }
}

const NAMES: Record<string, Weekday> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** `Mon-Fri`, `Sat,Sun`, `Mon,Wed-Fri`, `*` → the weekdays; a message naming the text otherwise. */
export function parseDays(text: string): Set<Weekday> {
  const out = new Set<Weekday>();
  const t = text.trim().toLowerCase();
  if (t === '*' || t === 'daily' || t === 'every day') {
    for (let d = 0; d < 7; d++) out.add(d as Weekday);
    return out;
  }
  for (const part of t.split(',').map((s) => s.trim())) {
    const m = /^([a-z]{3})[a-z]*(?:\s*-\s*([a-z]{3})[a-z]*)?$/.exec(part);
    const a = m ? NAMES[m[1]!] : undefined;
    const b = m?.[2] ? NAMES[m[2]] : a;
    if (a === undefined || b === undefined) throw new Error(`days "${text}": expected day names like Mon-Fri, Sat,Sun or * (every day)`);
    for (let d = a; ; d = ((d + 1) % 7) as Weekday) {
      out.add(d);
      if (d === b) break;
    }
  }
  return out;
}

/** `08:30` → 510; `24:00` → 1440. */
export function parseTimeOfDay(text: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  if (!m || h > 24 || min > 59 || (h === 24 && min !== 0)) throw new Error(`time "${text}": expected HH:MM from 00:00 to 24:00`);
  return h * 60 + min;
}

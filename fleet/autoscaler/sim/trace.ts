/** Session traces: CSV `arrival_s,session_s,user`, one session a line, sorted by arrival. */

export interface TraceSession {
  /** Seconds from the start of the trace when the user asks for an instance. */
  arrival: number;
  /** How long they keep it once they have it, seconds. */
  duration: number;
  user: string;
}

export interface Trace {
  name: string;
  sessions: TraceSession[];
  /**
   * Weekday of the trace's day 0 (0 = Sunday) when it is known (generated traces): a
   * history of several days then keeps its weekends where they were. A recorded CSV has none.
   */
  startWeekday?: number;
}

/** Parses a trace; throws naming the line and what it expected. */
export function parseTraceCsv(text: string, name = 'trace'): Trace {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().toLowerCase();
  if (header !== 'arrival_s,session_s,user') throw new Error(`${name}: line 1 must be the header "arrival_s,session_s,user", got "${lines[0] ?? ''}"`);
  const sessions: TraceSession[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [a, s, u, extra] = line.split(',');
    const arrival = Number(a);
    const duration = Number(s);
    if (extra !== undefined || !Number.isFinite(arrival) || arrival < 0 || !Number.isFinite(duration) || duration <= 0 || !u?.trim()) {
      throw new Error(`${name}: line ${i + 1}: expected arrival_s ≥ 0, session_s > 0 and a user, got "${line}"`);
    }
    sessions.push({ arrival, duration, user: u.trim() });
  }
  // The format says sorted; a file that is not is sorted rather than refused.
  if (sessions.some((x, i) => i > 0 && x.arrival < sessions[i - 1]!.arrival)) sessions.sort((x, y) => x.arrival - y.arrival);
  return { name, sessions };
}

export function traceToCsv(t: Trace): string {
  return ['arrival_s,session_s,user', ...t.sessions.map((s) => `${s.arrival.toFixed(1)},${s.duration.toFixed(1)},${s.user}`)].join('\n') + '\n';
}

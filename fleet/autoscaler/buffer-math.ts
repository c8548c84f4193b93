/**
 * How many warm instances a given arrival rate is worth, from a queueing argument that
 * needs no history of the fleet, only the rate and the lead time.
 *
 * An instance taken at time t is replaced when the autoscaler next looks (within one
 * sync) and the replacement is Ready a cold start later: for `lead` = sync + cold start
 * the fleet cannot react. With k warm instances, an arrival finds none exactly when k or
 * more others came within the preceding lead (arrivals see time averages), so with
 * Poisson arrivals of mean m = rate × lead it is cold with probability P(N ≥ k).
 *
 * Adding the (k+1)-th warm instance avoids rate × P(N = k) cold starts an hour and costs
 * at most one idle GPU-hour an hour. It is kept while what it avoids is worth it:
 * rate × P(N = k) × coldStartCost ≥ 1, with `coldStartCost` the idle GPU-hours one
 * avoided cold start is worth. This spends idle GPUs where they buy the most warm
 * arrivals: a few at the day's peak, one or none at night.
 */

/** P(N = k) for N ~ Poisson(m). */
export function poissonPmf(k: number, m: number): number {
  if (k < 0 || !Number.isInteger(k)) return 0;
  if (m <= 0) return k === 0 ? 1 : 0;
  // In logs: stable for large k and m.
  let logFact = 0;
  for (let i = 2; i <= k; i++) logFact += Math.log(i);
  return Math.exp(k * Math.log(m) - m - logFact);
}

/** P(N ≥ k) for N ~ Poisson(m): the chance an arrival finds none of k warm instances left. */
export function poissonTail(k: number, m: number): number {
  if (k <= 0) return 1;
  let below = 0;
  for (let i = 0; i < k; i++) below += poissonPmf(i, m);
  return Math.max(0, 1 - below);
}

/** Most warm instances the math will ever ask for (a guard, far above any fleet here). */
const MAX_BUFFER = 10_000;

/**
 * Warm instances worth keeping for `ratePerHour` arrivals and a lead of `leadHours`,
 * when one avoided cold start is worth `coldStartCost` idle GPU-hours: the B that
 * maximises coldStartCost × rate × P(N < B) − B (cold starts avoided, in GPU-hours, less
 * the GPUs kept). Under heavy load a single warm instance avoids almost nothing (it is
 * always taken) while several do, so the whole sum is compared, not each step alone.
 */
export function warmBufferFor(ratePerHour: number, leadHours: number, coldStartCost: number): number {
  if (!(ratePerHour > 0) || !(leadHours > 0) || !(coldStartCost > 0)) return 0;
  const m = ratePerHour * leadHours;
  // exp(−m) underflows past ~745: such a rate is a flood, sized by its mean and spread.
  if (m > 700) return Math.ceil(m + 3 * Math.sqrt(m));
  const worth = coldStartCost * ratePerHour;
  let best = 0;
  let bestValue = 0;
  let below = 0; // P(N < B)
  let p = Math.exp(-m); // P(N = B)
  for (let b = 0; b < MAX_BUFFER; b++) {
    // Going from b to b + 1 warm instances adds P(N = b) to P(N < B).
    below += p;
    const value = worth * below - (b + 1);
    if (value > bestValue) {
      bestValue = value;
      best = b + 1;
    }
    // Past the mode each further step is worth less than the last: stop once one is not worth it.
    if (b >= m && worth * p < 1) break;
    p = (p * m) / (b + 1);
  }
  return best;
}

/**
 * Warm instances that keep the chance an arrival finds none at or below `risk`: the
 * smallest k with P(N ≥ k) ≤ risk. Used while there is no day profile to spread a warm
 * target over the day with.
 */
export function warmBufferForRisk(ratePerHour: number, leadHours: number, risk: number): number {
  if (!(ratePerHour > 0) || !(leadHours > 0)) return 0;
  const m = ratePerHour * leadHours;
  if (m > 700) return Math.ceil(m + 3 * Math.sqrt(m));
  let k = 0;
  let p = Math.exp(-m); // P(N = k)
  let tail = 1; // P(N ≥ k)
  while (tail > risk && k < MAX_BUFFER) {
    tail -= p;
    k++;
    p = (p * m) / k;
  }
  return k;
}

/** Share of arrivals that find a warm instance over a day of `rates` (per hour, equal slots) at `coldStartCost`. */
export function expectedWarm(rates: readonly number[], leadHours: number, coldStartCost: number): number {
  let arrivals = 0;
  let cold = 0;
  for (const r of rates) {
    if (!(r > 0)) continue;
    arrivals += r;
    cold += r * poissonTail(warmBufferFor(r, leadHours, coldStartCost), r * leadHours);
  }
  return arrivals > 0 ? 1 - cold / arrivals : 1;
}

/**
 * The cheapest coldStartCost whose buffer keeps `target` of a day's arrivals warm (by
 * the Poisson model): spending idle GPUs where they buy the most warm arrivals until the
 * day as a whole reaches the target. Undefined for a day with no arrivals.
 */
export function costForTarget(rates: readonly number[], leadHours: number, target: number): number | undefined {
  if (!rates.some((r) => r > 0)) return undefined;
  let lo = Math.log(0.01);
  let hi = Math.log(100_000);
  if (expectedWarm(rates, leadHours, Math.exp(hi)) < target) return Math.exp(hi);
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (expectedWarm(rates, leadHours, Math.exp(mid)) >= target) hi = mid;
    else lo = mid;
  }
  return Math.exp(hi);
}

// The spike rule every tracer uses: a value must exceed its threshold AND exceed its recent baseline
// by a delta, for `holdSamples` consecutive samples, before it fires — once per excursion. The
// baseline is the median of recent normal samples (not just the previous one), frozen while the
// value is elevated so a slow ramp cannot drag its own baseline up; an excursion that outlasts the
// baseline window becomes the new normal.
export interface SpikeRule {
  threshold: number;
  deltaThreshold: number;
  holdSamples: number;
  /** how many recent normal samples make the baseline */
  baselineSamples: number;
  /** samples needed before the detector may fire (avoids firing on a host that is already busy at start) */
  warmupSamples?: number;
}

export interface Reading {
  value: number;
  baseline: number;
  /** value − baseline */
  delta: number;
  /** above threshold and above baseline + delta */
  elevated: boolean;
  /** consecutive elevated samples so far */
  held: number;
  /** this sample completes the hold: trigger now */
  fired: boolean;
}

export class SpikeDetector {
  private history: number[] = [];
  private run = 0;
  private seen = 0;

  constructor(public rule: SpikeRule) {}

  get baseline(): number {
    return median(this.history);
  }

  update(value: number): Reading {
    const r = this.rule;
    this.seen++;
    const warm = this.history.length >= (r.warmupSamples ?? 2);
    const baseline = this.history.length ? median(this.history) : value;
    const delta = value - baseline;
    const elevated = warm && value > r.threshold && delta > r.deltaThreshold;
    let fired = false;
    if (elevated) {
      this.run++;
      fired = this.run === Math.max(1, r.holdSamples);
      // a plateau longer than the baseline window is the new normal
      if (this.run > r.baselineSamples) this.push(value);
    } else {
      this.run = 0;
      this.push(value);
    }
    return { value, baseline, delta, elevated, held: this.run, fired };
  }

  private push(v: number): void {
    this.history.push(v);
    const max = Math.max(1, this.rule.baselineSamples);
    if (this.history.length > max) this.history.splice(0, this.history.length - max);
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Cooldowns per scope ("host" or a container id). */
export class Cooldowns {
  private until = new Map<string, number>();

  active(scope: string, now: number): number | null {
    const u = this.until.get(scope);
    if (u === undefined || u <= now) return null;
    return u;
  }

  start(scope: string, now: number, ms: number): void {
    this.until.set(scope, now + ms);
  }

  /** the latest end of any cooldown (for the API's host-level view) */
  latest(now: number): number | null {
    let max: number | null = null;
    for (const u of this.until.values()) if (u > now && (max === null || u > max)) max = u;
    return max;
  }

  prune(now: number): void {
    for (const [k, u] of this.until) if (u <= now) this.until.delete(k);
  }
}

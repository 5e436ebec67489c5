// Kernel-style load averages in fixed point (kernel/sched/loadavg.c): FSHIFT 11 bits of fraction, and
//   load' = (load·EXP + active·(FIXED_1 − EXP)) / FIXED_1, rounded up while rising,
// with EXP = FIXED_1 / e^(step/period). The kernel takes a step every LOAD_FREQ = 5 s, so its EXP_1 =
// 2048/e^(5/60) = 1884, EXP_5 = 2014, EXP_15 = 2037.
//
// We sample every `interval` (1 s by default) and keep two kinds of average per scope:
//  - the 1/5/15-minute load and D-load averages, stepped every 5 s (or the nearest whole number of
//    intervals) with the constants computed for that step — at 5 s exactly the kernel's constants, so
//    the numbers mean what /proc/loadavg and Huatuo mean;
//  - the trigger average: the same formula stepped every interval with EXP = 2048/e^(interval/window)
//    (2014 for 1 s and a 60 s window), so it reacts a sample after the tasks block, not up to 5 s later.
//    At 1 s steps the fixed-point rounding stays within 0.03 of the exact exponential average for the
//    1-minute window (within 0.1 and 0.14 for 5 and 15 minutes, which is why those step every 5 s);
//    see loadavg.test.ts.
export const FSHIFT = 11;
export const FIXED_1 = 1 << FSHIFT;
export const LOAD_FREQ_MS = 5000;

/** FIXED_1 / e^(stepMs/periodMs), rounded: the kernel's EXP_n for its step and period. */
export function decayFactor(stepMs: number, periodMs: number): number {
  if (!(stepMs > 0) || !(periodMs > 0)) throw new RangeError(`bad step ${stepMs} or period ${periodMs}`);
  return Math.round(FIXED_1 * Math.exp(-stepMs / periodMs));
}

/** The kernel's calc_load(): all values fixed point (active = nr · FIXED_1). */
export function calcLoad(load: number, exp: number, active: number): number {
  let next = load * exp + active * (FIXED_1 - exp);
  if (active >= load) next += FIXED_1 - 1;
  return Math.floor(next / FIXED_1);
}

/** One exponentially weighted average in fixed point, stepped once per update(). */
export class FixedPointEwma {
  private load = 0;
  readonly exp: number;

  constructor(stepMs: number, periodMs: number) {
    this.exp = decayFactor(stepMs, periodMs);
  }

  /** start from a level instead of 0 */
  seed(count: number): void {
    this.load = Math.max(0, Math.round(count)) * FIXED_1;
  }

  update(count: number): number {
    this.load = calcLoad(this.load, this.exp, Math.max(0, Math.round(count)) * FIXED_1);
    return this.value;
  }

  /** as a number of tasks */
  get value(): number {
    return this.load / FIXED_1;
  }

  /** the fixed-point value, as the kernel keeps it */
  get raw(): number {
    return this.load;
  }
}

export interface LoadAverages {
  load1: number;
  load5: number;
  load15: number;
  dload1: number;
  dload5: number;
  dload15: number;
}

const PERIODS = [60_000, 300_000, 900_000] as const;

/** Per scope: the kernel's 1/5/15-minute load (running + D) and D-load averages, plus the trigger average. */
export class ScopeLoad {
  private readonly load: FixedPointEwma[];
  private readonly dload: FixedPointEwma[];
  private readonly trigger: FixedPointEwma;
  private readonly stepEvery: number;
  private sinceStep = 0;

  constructor(intervalMs: number, windowMs: number) {
    this.stepEvery = Math.max(1, Math.round(LOAD_FREQ_MS / intervalMs));
    const step = this.stepEvery * intervalMs;
    this.load = PERIODS.map((p) => new FixedPointEwma(step, p));
    this.dload = PERIODS.map((p) => new FixedPointEwma(step, p));
    this.trigger = new FixedPointEwma(intervalMs, windowMs);
  }

  /** Start every average at the current counts (a scope seen for the first time is not rising from 0). */
  seed(running: number, uninterruptible: number): void {
    for (const e of this.load) e.seed(running + uninterruptible);
    for (const e of this.dload) e.seed(uninterruptible);
    this.trigger.seed(uninterruptible);
  }

  /** One sample: running and uninterruptible task counts. Returns the trigger average (D tasks). */
  update(running: number, uninterruptible: number): number {
    if (++this.sinceStep >= this.stepEvery) {
      this.sinceStep = 0;
      for (const e of this.load) e.update(running + uninterruptible);
      for (const e of this.dload) e.update(uninterruptible);
    }
    return this.trigger.update(uninterruptible);
  }

  get triggerAverage(): number {
    return this.trigger.value;
  }

  averages(): LoadAverages {
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      load1: r(this.load[0]!.value),
      load5: r(this.load[1]!.value),
      load15: r(this.load[2]!.value),
      dload1: r(this.dload[0]!.value),
      dload5: r(this.dload[1]!.value),
      dload15: r(this.dload[2]!.value),
    };
  }
}

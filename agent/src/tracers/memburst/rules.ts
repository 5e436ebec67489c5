// memburst's rules, each fed one host sample per interval, each publishing a reading:
//   anon_growth_rate  Active(anon)+Inactive(anon) growth in bytes/s over the last growthWindow (from the
//                     second sample on: the rate over what the window holds so far) — a SpikeDetector:
//                     above anonGrowthRate and at least half of that above its recent baseline rate
//                     (the median over baselineWindow), so a burst on top of another process's steady
//                     growth still counts while a host that always grows at one clip does not.
//   anon_ratio        anon now ÷ anon at the start of the window ≥ anonGrowthRatio, with anon ≥
//                     anonFloorPercent of MemTotal (Huatuo's rule, over the short window)      — hold rule
//   psi_some_avg10    PSI memory "some" avg10 ≥ psiSomeThreshold (percent)                       — hold rule
//   psi_full_avg10    PSI memory "full" avg10 ≥ psiFullThreshold                                 — hold rule
//   pgscan_direct_rate   pages scanned by direct reclaim per second ≥ directReclaimThreshold     — hold rule
//   allocstall_rate   allocation stalls (sum of allocstall_*) per second ≥ allocStallThreshold   — hold rule
// A hold rule fires once per excursion, when its condition has held holdSamples consecutive samples.
// A threshold of 0 turns a rule off. No rule needs more history than the growth window.
import type { MemburstConfig } from '../../config';
import { anonBytes, type Meminfo, type Vmstat } from '../../host/meminfo';
import type { Pressure } from '../../host/pressure';
import { SpikeDetector, type SpikeRule } from '../detector';

export type RuleName =
  'anon_growth_rate' | 'anon_ratio' | 'psi_some_avg10' | 'psi_full_avg10' | 'pgscan_direct_rate' | 'allocstall_rate';
export const RULES: readonly RuleName[] = [
  'anon_growth_rate',
  'anon_ratio',
  'psi_some_avg10',
  'psi_full_avg10',
  'pgscan_direct_rate',
  'allocstall_rate',
];

export interface RuleReading {
  rule: RuleName;
  value: number;
  threshold: number;
  baseline: number;
  elevated: boolean;
  fired: boolean;
}

/** Condition held for `hold` consecutive samples → fires once, then not again until it clears. */
export class HoldRule {
  private run = 0;

  constructor(public hold: number) {}

  update(condition: boolean): { held: number; fired: boolean } {
    if (!condition) {
      this.run = 0;
      return { held: 0, fired: false };
    }
    this.run++;
    return { held: this.run, fired: this.run === Math.max(1, this.hold) };
  }
}

export interface HostMemSample {
  at: number;
  meminfo: Meminfo;
  vmstat: Vmstat | null;
  /** null: PSI unavailable */
  psi: Pressure | null;
}

export function allocstalls(v: Vmstat): number {
  let n = 0;
  for (const [k, x] of Object.entries(v)) if (k.startsWith('allocstall')) n += x;
  return n;
}

function growthRule(cfg: MemburstConfig): SpikeRule {
  return {
    threshold: cfg.anonGrowthRate,
    deltaThreshold: cfg.anonGrowthRate / 2,
    holdSamples: cfg.holdSamples,
    baselineSamples: Math.max(1, Math.round(cfg.baselineWindow / cfg.interval)),
  };
}

export class MemburstDetector {
  /** samples over the growth window, oldest first (window/interval + 1 of them) */
  private window: HostMemSample[] = [];
  private prev: HostMemSample | null = null;
  private growth: SpikeDetector;
  private holds: Record<Exclude<RuleName, 'anon_growth_rate'>, HoldRule>;

  constructor(private cfg: MemburstConfig) {
    this.growth = new SpikeDetector(growthRule(cfg));
    this.holds = {
      anon_ratio: new HoldRule(cfg.holdSamples),
      psi_some_avg10: new HoldRule(cfg.holdSamples),
      psi_full_avg10: new HoldRule(cfg.holdSamples),
      pgscan_direct_rate: new HoldRule(cfg.holdSamples),
      allocstall_rate: new HoldRule(cfg.holdSamples),
    };
  }

  reconfigure(cfg: MemburstConfig): void {
    this.cfg = cfg;
    this.growth.rule = growthRule(cfg);
    for (const h of Object.values(this.holds)) h.hold = cfg.holdSamples;
    this.trim();
  }

  get windowSamples(): number {
    return Math.max(1, Math.round(this.cfg.growthWindow / this.cfg.interval));
  }

  private trim(): void {
    const keep = this.windowSamples + 1;
    if (this.window.length > keep) this.window.splice(0, this.window.length - keep);
  }

  /** The first sample of the current growth window (the burst's "before"). */
  get windowStart(): HostMemSample | null {
    return this.window[0] ?? null;
  }

  update(s: HostMemSample): RuleReading[] {
    const cfg = this.cfg;
    this.window.push(s);
    this.trim();
    const prev = this.prev;
    this.prev = s;
    const out: RuleReading[] = [];
    const first = this.window[0]!;
    const anon = anonBytes(s.meminfo);
    const total = s.meminfo.MemTotal ?? 0;

    // growth rate over what the window holds (needs two samples)
    if (this.window.length >= 2 && s.at > first.at) {
      const rate = ((anon - anonBytes(first.meminfo)) * 1000) / (s.at - first.at);
      if (cfg.anonGrowthRate > 0) {
        const r = this.growth.update(rate);
        out.push({
          rule: 'anon_growth_rate',
          value: rate,
          threshold: cfg.anonGrowthRate,
          baseline: r.baseline,
          elevated: r.elevated,
          fired: r.fired,
        });
      }
      if (cfg.anonGrowthRatio > 0) {
        const before = anonBytes(first.meminfo);
        const ratio = before > 0 ? anon / before : 0;
        const floor = (cfg.anonFloorPercent / 100) * total;
        const cond = ratio >= cfg.anonGrowthRatio && anon >= floor;
        const h = this.holds.anon_ratio.update(cond);
        out.push({
          rule: 'anon_ratio',
          value: ratio,
          threshold: cfg.anonGrowthRatio,
          baseline: 1,
          elevated: cond,
          fired: h.fired,
        });
      }
    }
    if (s.psi) {
      const some = s.psi.some?.avg10;
      const full = s.psi.full?.avg10;
      if (cfg.psiSomeThreshold > 0 && some !== undefined) {
        const cond = some >= cfg.psiSomeThreshold;
        const h = this.holds.psi_some_avg10.update(cond);
        out.push({
          rule: 'psi_some_avg10',
          value: some,
          threshold: cfg.psiSomeThreshold,
          baseline: 0,
          elevated: cond,
          fired: h.fired,
        });
      }
      if (cfg.psiFullThreshold > 0 && full !== undefined) {
        const cond = full >= cfg.psiFullThreshold;
        const h = this.holds.psi_full_avg10.update(cond);
        out.push({
          rule: 'psi_full_avg10',
          value: full,
          threshold: cfg.psiFullThreshold,
          baseline: 0,
          elevated: cond,
          fired: h.fired,
        });
      }
    }
    if (prev && prev.vmstat && s.vmstat && s.at > prev.at) {
      const secs = (s.at - prev.at) / 1000;
      if (cfg.directReclaimThreshold > 0 && s.vmstat.pgscan_direct !== undefined) {
        const rate = Math.max(0, (s.vmstat.pgscan_direct - (prev.vmstat.pgscan_direct ?? 0)) / secs);
        const cond = rate >= cfg.directReclaimThreshold;
        const h = this.holds.pgscan_direct_rate.update(cond);
        out.push({
          rule: 'pgscan_direct_rate',
          value: rate,
          threshold: cfg.directReclaimThreshold,
          baseline: 0,
          elevated: cond,
          fired: h.fired,
        });
      }
      if (cfg.allocStallThreshold > 0) {
        const rate = Math.max(0, (allocstalls(s.vmstat) - allocstalls(prev.vmstat)) / secs);
        const cond = rate >= cfg.allocStallThreshold;
        const h = this.holds.allocstall_rate.update(cond);
        out.push({
          rule: 'allocstall_rate',
          value: rate,
          threshold: cfg.allocStallThreshold,
          baseline: 0,
          elevated: cond,
          fired: h.fired,
        });
      }
    }
    return out;
  }
}

/** How far past its threshold a reading is (for picking the rule that names the trigger). */
export function severity(r: RuleReading): number {
  return r.threshold > 0 ? r.value / r.threshold : 0;
}

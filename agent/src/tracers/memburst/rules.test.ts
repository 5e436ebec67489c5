import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, type MemburstConfig } from '../../config';
import { HoldRule, MemburstDetector, allocstalls, severity, type HostMemSample, type RuleName } from './rules';

const MiB = 1 << 20;
const GiB = 1 << 30;

function cfg(o: Partial<MemburstConfig> = {}): MemburstConfig {
  return {
    ...defaultConfig().tracers.memburst,
    interval: 1000,
    holdSamples: 2,
    growthWindow: 10_000,
    baselineWindow: 60_000,
    ...o,
  };
}

function host(
  at: number,
  anon: number,
  o: { total?: number; some?: number; full?: number; pgscan?: number; stalls?: number; psi?: boolean } = {}
): HostMemSample {
  return {
    at,
    meminfo: { MemTotal: o.total ?? 16 * GiB, 'Active(anon)': anon * 0.75, 'Inactive(anon)': anon * 0.25 },
    vmstat: { pgscan_direct: o.pgscan ?? 0, allocstall_normal: o.stalls ?? 0, allocstall_movable: 0, pgfault: 1 },
    psi:
      o.psi === false
        ? null
        : {
            some: { avg10: o.some ?? 0, avg60: 0, avg300: 0, total: 0 },
            full: { avg10: o.full ?? 0, avg60: 0, avg300: 0, total: 0 },
          },
  };
}

function fired(rs: ReturnType<MemburstDetector['update']>): RuleName[] {
  return rs.filter((r) => r.fired).map((r) => r.rule);
}

test('growth rate: fires within the hold of a burst, from the first seconds after start (no long warm-up)', () => {
  const d = new MemburstDetector(cfg());
  let anon = 2 * GiB;
  // steady for 3 s, then +400 MiB/s
  const out: RuleName[][] = [];
  for (let s = 0; s < 9; s++) {
    if (s >= 3) anon += 400 * MiB;
    out.push(fired(d.update(host(s * 1000, anon))));
  }
  const when = out.findIndex((f) => f.includes('anon_growth_rate'));
  // rate over the window so far: s=3: 400/3 = 133 MiB/s (elevated), s=4: 200 → fires (hold 2)
  assert.equal(when, 4, JSON.stringify(out));
  assert.equal(out.flat().filter((r) => r === 'anon_growth_rate').length, 1, 'once per excursion');
});

test('growth rate: a host that always grows at the same clip is its own baseline', () => {
  const d = new MemburstDetector(cfg());
  let anon = GiB;
  for (let s = 0; s < 120; s++) {
    anon += 150 * MiB;
    const f = fired(d.update(host(s * 1000, anon)));
    // the first seconds are a rise from nothing: the rule may fire once then; never again after
    if (s > 15) assert.deepEqual(f, [], `second ${s}`);
  }
});

test('ratio rule: doubling within the window counts only above the MemTotal floor', () => {
  const small = new MemburstDetector(cfg({ anonGrowthRate: 0 }));
  let fires = 0;
  for (let s = 0; s < 12; s++) fires += fired(small.update(host(s * 1000, GiB * (1 + s / 4)))).length;
  assert.equal(fires, 0, 'anon tripled but stays under 70% of 16 GiB');
  const big = new MemburstDetector(cfg({ anonGrowthRate: 0 }));
  const seq = [4, 4, 4, 6, 8, 10, 12, 12, 12].map((g) => g * GiB);
  const f = seq.map((a, s) => fired(big.update(host(s * 1000, a))));
  // 12 GiB ≥ 2 × 4 GiB and ≥ 70% of 16 GiB (11.2) from s=6, held 2 → s=7
  assert.deepEqual(
    f.findIndex((x) => x.includes('anon_ratio')),
    7
  );
});

test('PSI, direct reclaim and allocation stalls: threshold held for holdSamples, once per excursion; 0 turns a rule off', () => {
  const d = new MemburstDetector(cfg({ anonGrowthRate: 0, anonGrowthRatio: 0 }));
  const a = GiB;
  const seq: HostMemSample[] = [
    host(0, a),
    host(1000, a, { some: 50 }),
    host(2000, a, { some: 55, full: 12 }),
    host(3000, a, { some: 60, full: 15, pgscan: 10_000 }),
    host(4000, a, { some: 10, full: 0, pgscan: 20_000, stalls: 10 }),
    host(5000, a, { some: 45, pgscan: 20_000, stalls: 20 }),
  ];
  const out = seq.map((s) => fired(d.update(s)));
  assert.deepEqual(out, [[], [], ['psi_some_avg10'], ['psi_full_avg10'], ['pgscan_direct_rate'], ['allocstall_rate']]);
  const off = new MemburstDetector(
    cfg({
      psiSomeThreshold: 0,
      psiFullThreshold: 0,
      directReclaimThreshold: 0,
      allocStallThreshold: 0,
      anonGrowthRate: 0,
      anonGrowthRatio: 0,
    })
  );
  for (const s of seq) assert.deepEqual(off.update(s), []);
  // no PSI on this kernel: those rules publish nothing
  const nopsi = new MemburstDetector(cfg());
  nopsi.update(host(0, a, { psi: false }));
  const rules = nopsi.update(host(1000, a, { psi: false })).map((r) => r.rule);
  assert.ok(!rules.includes('psi_some_avg10') && rules.includes('anon_growth_rate'));
});

test('helpers: hold rule, allocstall sum, severity', () => {
  const h = new HoldRule(3);
  assert.deepEqual(
    [true, true, true, true, false, true].map((c) => h.update(c).fired),
    [false, false, true, false, false, false]
  );
  assert.equal(allocstalls({ allocstall_dma: 1, allocstall_normal: 2, allocstall_movable: 3, pgfault: 9 }), 6);
  assert.equal(
    severity({ rule: 'psi_some_avg10', value: 60, threshold: 40, baseline: 0, elevated: true, fired: true }),
    1.5
  );
});

test('the growth window follows the config', () => {
  const d = new MemburstDetector(cfg({ growthWindow: 5000, interval: 500 }));
  assert.equal(d.windowSamples, 10);
  for (let s = 0; s < 30; s++) d.update(host(s * 500, GiB + s * MiB));
  assert.equal(d.windowStart!.at, 19 * 500, 'the window holds windowSamples + 1 samples');
  d.reconfigure(cfg({ growthWindow: 2000, interval: 500 }));
  assert.equal(d.windowStart!.at, 25 * 500);
});

test('growth rate: a burst on top of another process steady growth still fires', () => {
  const d = new MemburstDetector(cfg());
  let anon = 2 * GiB;
  const out: RuleName[][] = [];
  for (let s = 0; s < 60; s++) {
    anon += 95 * MiB; // something grows at 95 MiB/s all along
    if (s >= 40) anon += 150 * MiB; // then a burst of 150 MiB/s more
    out.push(fired(d.update(host(s * 1000, anon))));
  }
  const when = out.findIndex((f) => f.includes('anon_growth_rate'));
  assert.ok(when >= 40 && when <= 44, `fired at ${when}`);
});

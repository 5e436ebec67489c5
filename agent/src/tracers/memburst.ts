// memburst (host, with container attribution): every interval, /proc/meminfo (anonymous memory),
// /proc/vmstat (direct reclaim, allocation stalls), PSI memory, and every process's RSS (a BPF task
// iterator; /proc where BPF cannot load). Several rules (memburst/rules.ts), each publishing its
// reading: anonymous-memory growth rate over growthWindow against its baseline, Huatuo's ratio rule
// over the same short window, PSI some/full, direct reclaim and allocation-stall rates. No warm-up
// longer than the growth window. The RSS history makes "who grew" known at the trigger.
//
// Event data (JSON):
//   source: { rss: 'bpf' | 'proc', alloc: 'bpf' | null }
//   rules: [{ rule, value, threshold, baseline, elevated, fired }]   every rule's reading at the trigger
//          (rule: anon_growth_rate bytes/s | anon_ratio | psi_some_avg10 % | psi_full_avg10 % |
//           pgscan_direct_rate pages/s | allocstall_rate /s)
//   window: { startedAt, triggerAt, captureStartedAt, endedAt, growthWindowMs }  (ms since epoch)
//   topGrowers: [{ rank, pid, comm, command, container: ContainerRef | null, rssBytes, rssDeltaBytes,
//                  rssDeltaAtTriggerBytes, startRssBytes, anonBytes, anonDeltaBytes, allocBytes, exited }]
//          largest RSS growth first, from the start of the growth window to the end of the capture
//   containers: [{ container, processes, rssBytes, rssDeltaBytes, usageBytes, limitBytes, usageDeltaBytes }]
//   host: { meminfo: [{ key, startBytes, triggerBytes, endBytes, deltaBytes }],
//           vmstat: [{ key, delta, perSec }], psi: { start, trigger, end: { someAvg10, fullAvg10 } | null,
//           someStallMs } }
//   alloc: { samplePeriodBytes, samples, sampledBytes, allocatedBytes, allocations, lostStacks,
//            lostCounts, durationMs } | null — and the flame graph "alloc" (unit bytes): sampled page
//            allocations during the capture, process (comm-pid) → user frames → kernel frames
// The event's container is the top grower's, when it grew.
import type { MemburstConfig } from '../config';
import type { CapturePlan } from '../capture/manager';
import { CaptureError } from '../capture/errors';
import { readMeminfo, readVmstat } from '../host/meminfo';
import { readPressure } from '../host/pressure';
import { CgroupIdResolver } from '../bpf/cgroupIds';
import { Tracer, manualTrigger, type Candidate, type ManualRequest, type TracerEnv } from './tracer';
import { MemburstDetector, severity, type HostMemSample, type RuleReading } from './memburst/rules';
import { ProcRss, RssHistory, openRss, toSnapshot, type RssSource } from './memburst/rss';
import { captureMemburst, type MemburstDetail } from './memburst/capture';
import { round } from './cpu/capture';

function fmt(rule: RuleReading['rule'], v: number): string {
  if (rule === 'anon_growth_rate') return `${round(v / 1048576)} MiB/s`;
  if (rule === 'anon_ratio') return `${round(v, 2)}×`;
  if (rule === 'psi_some_avg10' || rule === 'psi_full_avg10') return `${round(v, 2)}%`;
  return `${round(v)}/s`;
}

const LABEL: Record<RuleReading['rule'], string> = {
  anon_growth_rate: 'anonymous memory growth',
  anon_ratio: 'anonymous memory growth ratio',
  psi_some_avg10: 'PSI memory some avg10',
  psi_full_avg10: 'PSI memory full avg10',
  pgscan_direct_rate: 'direct reclaim scanning',
  allocstall_rate: 'allocation stalls',
};

export class MemburstTracer extends Tracer<MemburstConfig> {
  readonly type = 'memburst' as const;
  readonly scope = 'host' as const;
  private detector: MemburstDetector;
  private history: RssHistory;
  private rss: RssSource | null = null;
  private readonly resolver = new CgroupIdResolver('memory');
  private lastReadings: RuleReading[] = [];
  private lastHost: HostMemSample | null = null;
  fallbackReason: string | null = null;

  /** `rss` replaces the BPF/proc choice (tests). */
  constructor(config: MemburstConfig, env: TracerEnv, rss?: RssSource) {
    super(config, env);
    this.detector = new MemburstDetector(config);
    this.history = new RssHistory(this.detector.windowSamples);
    if (rss) this.rss = rss;
  }

  protected override reconfigured(): void {
    this.detector.reconfigure(this.config);
    this.history.resize(this.detector.windowSamples);
  }

  get source(): RssSource {
    if (!this.rss) {
      const { rss, fallbackReason } = openRss();
      this.rss = rss;
      this.fallbackReason = fallbackReason;
      if (fallbackReason)
        this.env.log.warn(
          { tracer: 'memburst', reason: fallbackReason },
          'BPF RSS sweep unavailable: reading /proc/PID/statm'
        );
    }
    return this.rss;
  }

  override stop(): void {
    super.stop();
    this.rss?.close();
  }

  private detail(readings: RuleReading[]): MemburstDetail {
    const oldest = this.history.oldest;
    const latest = this.history.latest;
    const ws = this.detector.windowStart;
    return {
      windowStart: oldest && ws ? { host: ws, snap: oldest.snap } : null,
      trigger: latest && this.lastHost ? { host: this.lastHost, snap: latest.snap } : null,
      lastSeen: this.history.lastSeen(),
      readings,
    };
  }

  protected tick(now: number): Candidate[] {
    const meminfo = readMeminfo();
    if (!meminfo) return [];
    const host: HostMemSample = { at: now, meminfo, vmstat: readVmstat(), psi: readPressure('memory') };
    let procs;
    try {
      procs = this.source.sweep();
    } catch (e) {
      if (this.source.source !== 'bpf') throw e;
      // BPF worked at first but a sweep failed: /proc from now on
      this.rss?.close();
      this.fallbackReason = `BPF RSS sweep failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      this.env.log.warn({ tracer: 'memburst', reason: this.fallbackReason }, 'reading /proc/PID/statm from now on');
      this.rss = new ProcRss();
      // process identities differ between the two sources (start time in ns vs clock ticks): start over
      this.history = new RssHistory(this.detector.windowSamples);
      procs = this.rss.sweep();
    }
    this.history.push(now, toSnapshot(procs));
    this.lastHost = host;
    const readings = this.detector.update(host);
    this.lastReadings = readings;
    for (const r of readings)
      this.publish({ metric: r.rule, scope: 'host', value: r.value, baseline: r.baseline, threshold: r.threshold });
    const fired = readings.filter((r) => r.fired);
    if (!fired.length) return [];
    const main = [...fired].sort((a, b) => severity(b) - severity(a))[0]!;
    const reason = fired
      .map(
        (r) =>
          `${LABEL[r.rule]} ${fmt(r.rule, r.value)} ≥ ${fmt(r.rule, r.threshold)}${r.rule === 'anon_growth_rate' ? ` (baseline ${fmt(r.rule, r.baseline)})` : ''}`
      )
      .join('; ');
    return [
      {
        scope: 'host',
        container: null,
        score: severity(main),
        detail: this.detail(readings),
        trigger: {
          metric: main.rule,
          value: round(main.value, 2),
          threshold: main.threshold,
          baseline: round(main.baseline, 2),
          delta: round(main.value - main.baseline, 2),
          reason: `${reason}, held ${this.config.holdSamples} samples`,
        },
      },
    ];
  }

  protected manualCandidate(req: ManualRequest): Candidate {
    if (req.container)
      throw new CaptureError(
        'BAD_REQUEST',
        'memburst watches the whole host (growers are attributed to containers); do not give a container'
      );
    return {
      scope: 'host',
      container: null,
      score: 0,
      detail: this.detail(this.lastReadings),
      trigger: manualTrigger('memburst', 'the host'),
    };
  }

  protected plan(c: Candidate, manual: boolean, durationMs: number): CapturePlan {
    const detail = c.detail as MemburstDetail;
    const env = this.env;
    const cfg = this.config;
    const rss = this.source;
    const resolver = this.resolver;
    return {
      type: 'memburst',
      trigger: c.trigger,
      container: null,
      durationMs,
      manual,
      run: (ctx) =>
        captureMemburst(ctx, env, {
          rss,
          resolver,
          detail,
          samplePeriod: cfg.allocSamplePeriod,
          topProcesses: cfg.topProcesses,
          growthWindowMs: cfg.growthWindow,
          manual,
        }),
    };
  }
}

// The seconds before a trigger. A spike is only seen once it has held for a few samples; by then the
// moment it started is gone — unless the profiler was already running. This keeps a host-wide
// on-CPU profile running in continuous mode and a ring of the last `seconds` of raw windows (no
// symbolization until a capture asks), so a cpusys or cpuidle capture can store a "before" flame graph
// next to its own and the panel can diff them (Huatuo issue #100).
import type { Logger } from 'pino';
import { Profiler, type SampleWindow } from '../../bpf/profiler';
import { mergeWindows } from '../../profiles/collect';
import type { Symbolizer } from '../../profiles/symbols/symbolizer';

export interface LookbackOptions {
  /** how much history to keep, ms (0: off) */
  keepMs: number;
  frequency: number;
  hierarchy: 'unified' | 'v1-cpu';
  symbolizer: Symbolizer;
  log: Logger;
}

export class Lookback {
  private profiler: Profiler | null = null;
  private ring: SampleWindow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private failedAt = 0;

  constructor(private opts: LookbackOptions) {}

  /** which hierarchy the recorded cgroup ids refer to */
  get hierarchy(): 'unified' | 'v1-cpu' {
    return this.opts.hierarchy;
  }

  get running(): boolean {
    return this.profiler !== null;
  }

  /** (Re)start with new settings; keepMs 0 stops it. */
  configure(opts: Partial<Pick<LookbackOptions, 'keepMs' | 'frequency'>>): void {
    const changed =
      (opts.keepMs !== undefined && opts.keepMs !== this.opts.keepMs) ||
      (opts.frequency !== undefined && opts.frequency !== this.opts.frequency);
    this.opts = { ...this.opts, ...opts };
    if (changed && this.running) {
      this.stop();
      this.start();
    }
  }

  start(): void {
    if (this.profiler || this.opts.keepMs <= 0) return;
    try {
      const p = new Profiler({ frequency: this.opts.frequency, recordHierarchy: this.opts.hierarchy });
      p.start();
      this.profiler = p;
    } catch (e) {
      // no BPF here: captures still work, they just have no "before" profile
      if (Date.now() - this.failedAt > 600_000) this.opts.log.warn({ err: e }, 'look-back profiler unavailable');
      this.failedAt = Date.now();
      return;
    }
    this.timer = setInterval(() => void this.drain(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.profiler?.close();
    this.profiler = null;
    this.ring = [];
  }

  private drain(): Promise<void> {
    if (!this.draining) {
      this.draining = this.drainOnce().finally(() => {
        this.draining = null;
      });
    }
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    if (!this.profiler) return;
    try {
      const w = await this.profiler.drain();
      this.ring.push(w);
      const cutoff = w.endedAt - this.opts.keepMs;
      while (this.ring.length && this.ring[0]!.endedAt <= cutoff) this.ring.shift();
      // remember maps now: a process that spiked and exited must still symbolize when a capture asks
      this.opts.symbolizer.observe(new Set(w.samples.map((s) => s.pid)));
    } catch (e) {
      this.opts.log.warn({ err: e }, 'look-back drain failed');
    }
  }

  /**
   * Everything kept up to now, merged (null when there is nothing): drains first, so the samples of
   * the last second — the ones right before the trigger — are included.
   */
  async before(): Promise<SampleWindow | null> {
    if (!this.profiler) return null;
    await this.drain(); // a drain already under way may have started before the trigger
    await this.drain();
    return this.ring.length ? mergeWindows(this.ring) : null;
  }
}

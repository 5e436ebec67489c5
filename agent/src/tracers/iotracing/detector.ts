// iotracing detection alone: /proc/diskstats per whole disk every interval → iostat-style rates →
// three spike rules per device (Huatuo's as defaults): utilisation above utilThreshold (an NVMe
// device's utilisation counts only while its read or write bandwidth is above the NVMe thresholds:
// a parallel device is "100% busy" long before it is saturated), and read or write await above
// awaitThreshold. Each must also stand a delta above the device's recent baseline and hold for
// holdSamples samples. Pure of captures; the tracer publishes the readings and fires the worst.
import type { IotracingConfig } from '../../config';
import { compileDeviceFilter } from '../../config';
import { diskIoRates, type DiskIoRates, type DiskStat, type BlockDevice } from '../../host/diskstats';
import { SpikeDetector, type Reading, type SpikeRule } from '../detector';

export type IoRule = 'util' | 'read_await' | 'write_await';
export const IO_RULES: IoRule[] = ['util', 'read_await', 'write_await'];
export const RULE_METRIC: Record<IoRule, string> = {
  util: 'util_percent',
  read_await: 'read_await_ms',
  write_await: 'write_await_ms',
};

export interface IoDeviceReading {
  device: BlockDevice;
  rates: DiskIoRates;
  readings: Record<IoRule, Reading>;
  /** NVMe: the bandwidth condition of the util rule holds (always true for other devices) */
  bandwidthOk: boolean;
  /** rules whose hold completed this sample, worst first */
  fired: IoRule[];
}

interface DeviceState {
  dev: string;
  spikes: Record<IoRule, SpikeDetector>;
}

export function ioRules(cfg: IotracingConfig): Record<IoRule, SpikeRule> {
  const baselineSamples = Math.max(1, Math.round(cfg.baselineWindow / cfg.interval));
  const r = (threshold: number, deltaThreshold: number): SpikeRule => ({
    threshold,
    deltaThreshold,
    holdSamples: cfg.holdSamples,
    baselineSamples,
  });
  return {
    util: r(cfg.utilThreshold, cfg.utilDeltaThreshold),
    read_await: r(cfg.awaitThreshold, cfg.awaitDeltaThreshold),
    write_await: r(cfg.awaitThreshold, cfg.awaitDeltaThreshold),
  };
}

/** How far past its threshold a reading is, comparable across rules (percent of the threshold for await). */
export function ruleScore(rule: IoRule, value: number, cfg: IotracingConfig): number {
  if (rule === 'util') return value - cfg.utilThreshold;
  return cfg.awaitThreshold > 0 ? (100 * (value - cfg.awaitThreshold)) / cfg.awaitThreshold : value;
}

export class IotracingDetector {
  private prev: Map<string, DiskStat> | null = null;
  private prevAt = 0;
  private states = new Map<string, DeviceState>();
  private rules: Record<IoRule, SpikeRule>;
  private filter: (name: string) => boolean;

  constructor(private cfg: IotracingConfig) {
    this.rules = ioRules(cfg);
    this.filter = compileDeviceFilter(cfg.includeDevices, cfg.excludeDevices);
  }

  reconfigure(cfg: IotracingConfig): void {
    this.cfg = cfg;
    this.rules = ioRules(cfg);
    this.filter = compileDeviceFilter(cfg.includeDevices, cfg.excludeDevices);
    for (const s of this.states.values()) for (const r of IO_RULES) s.spikes[r].rule = this.rules[r];
  }

  watches(name: string): boolean {
    return this.filter(name);
  }

  /** Feed one /proc/diskstats sample; `devices` are the whole disks to consider. */
  update(stats: Map<string, DiskStat>, now: number, devices: readonly BlockDevice[]): IoDeviceReading[] {
    const prev = this.prev;
    const elapsed = now - this.prevAt;
    this.prev = stats;
    this.prevAt = now;
    if (!prev || elapsed <= 0) return [];
    const wanted = new Map(devices.filter((d) => this.filter(d.name)).map((d) => [d.name, d]));
    const cur = new Map([...stats].filter(([name]) => wanted.has(name)));
    const rates = diskIoRates(prev, cur, elapsed);
    const out: IoDeviceReading[] = [];
    const seen = new Set<string>();
    for (const r of rates) {
      const device = wanted.get(r.name)!;
      const id = `${r.major}:${r.minor}`;
      seen.add(r.name);
      let st = this.states.get(r.name);
      if (!st || st.dev !== id) {
        st = {
          dev: id,
          spikes: {
            util: new SpikeDetector(this.rules.util),
            read_await: new SpikeDetector(this.rules.read_await),
            write_await: new SpikeDetector(this.rules.write_await),
          },
        };
        this.states.set(r.name, st);
      }
      const bandwidthOk =
        !device.nvme ||
        r.readBytesPerSec > this.cfg.nvmeReadThreshold ||
        r.writeBytesPerSec > this.cfg.nvmeWriteThreshold;
      // NVMe without the bandwidth: its utilisation cannot count, but still feeds the baseline (capped)
      const util = bandwidthOk ? r.utilPercent : Math.min(r.utilPercent, this.cfg.utilThreshold);
      const readings: Record<IoRule, Reading> = {
        util: st.spikes.util.update(util),
        read_await: st.spikes.read_await.update(r.readAwaitMs),
        write_await: st.spikes.write_await.update(r.writeAwaitMs),
      };
      // report the real utilisation even when the NVMe rule capped what the detector saw
      readings.util = { ...readings.util, value: r.utilPercent };
      const fired = IO_RULES.filter((k) => readings[k].fired).sort(
        (a, b) => ruleScore(b, readings[b].value, this.cfg) - ruleScore(a, readings[a].value, this.cfg)
      );
      out.push({ device, rates: r, readings, bandwidthOk, fired });
    }
    for (const k of [...this.states.keys()]) if (!seen.has(k)) this.states.delete(k);
    return out;
  }
}

const MiB = 1024 * 1024;

function fmt(n: number, digits = 1): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** One human sentence for a fired rule. */
export function ruleReason(r: IoDeviceReading, rule: IoRule, cfg: IotracingConfig): string {
  const x = r.readings[rule];
  const d = r.device;
  const ctx = `util ${fmt(r.rates.utilPercent)}%, r/w await ${fmt(r.rates.readAwaitMs)}/${fmt(r.rates.writeAwaitMs)} ms, ${fmt(r.rates.readBytesPerSec / MiB)}/${fmt(r.rates.writeBytesPerSec / MiB)} MiB/s read/written, queue ${fmt(r.rates.avgQueueSize)}`;
  if (rule === 'util') {
    const nvme = d.nvme
      ? ` with bandwidth above the NVMe thresholds (${fmt(cfg.nvmeReadThreshold / MiB, 0)}/${fmt(cfg.nvmeWriteThreshold / MiB, 0)} MiB/s)`
      : '';
    return `${d.name} (${d.major}:${d.minor}) utilisation ${fmt(x.value)}% > ${cfg.utilThreshold}%${nvme} and ${fmt(x.delta)} points above its baseline ${fmt(x.baseline)}% for ${cfg.holdSamples} samples (${ctx})`;
  }
  const which = rule === 'read_await' ? 'read' : 'write';
  return `${d.name} (${d.major}:${d.minor}) ${which} await ${fmt(x.value)} ms > ${cfg.awaitThreshold} ms and ${fmt(x.delta)} ms above its baseline ${fmt(x.baseline)} ms for ${cfg.holdSamples} samples (${ctx})`;
}

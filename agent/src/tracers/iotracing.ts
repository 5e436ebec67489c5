// iotracing (host): when a disk's utilisation or await jumps, which processes, containers and files
// were doing the IO, how slow it was (queue vs device time, per-disk histograms), and who was stuck
// waiting. Detection: /proc/diskstats per whole disk every interval (./iotracing/detector.ts).
// Capture: bpf/blockio.bpf.c for `duration` (./iotracing/capture.ts, ./iotracing/report.ts).
//
// Event data (JSON; the Grafana datasource's `io` query reads data.device and data.processes[].files[]):
// {
//   device: "loop3" | null,               trigger device (null: manual capture of every watched disk)
//   snapshot: null | {                    what the detector saw (null for a manual capture)
//     device, major, minor, rule: "util" | "read_await" | "write_await", reason,
//     values: { utilPercent, readAwaitMs, writeAwaitMs, readIops, writeIops, readBps, writeBps, queueSize },
//     baseline, delta,
//     thresholds: { utilPercent, utilDeltaPercent, awaitMs, awaitDeltaMs, holdSamples, nvmeReadBps?, nvmeWriteBps? } },
//   window: { startedAt, endedAt, durationMs, devices: string[] | null, buckets: "log2" | "log2/2" | "log2/4",
//             kernel: { requests, attributed, startedBeforeWindow, directMatched, noIssueTime, fsEvents,
//                       iowaitWaits, iowaitNs, names, stalls, …lost counters }, missing: string[] },
//   devices: [{ device, major, minor, rotational, nvme,        devices with IO in the window, busiest first
//               diskstats: { readIops, writeIops, readBps, writeBps, readAwaitMs, writeAwaitMs, utilPercent, queueSize } | null,
//               traced: { read: Op, write: Op, otherOps } }],
//       Op = { ios, bytes, iops, bps, q2cAvgUs, d2cAvgUs, queueAvgUs, q2cMaxUs, d2cMaxUs,
//              q2cP50Us, q2cP99Us, d2cP50Us, d2cP99Us, noIssueTime }
//       (q2c = request start → completion, the kernel's own await; d2c = issue to the driver → completion;
//        queue = q2c − d2c. diskstats are the kernel's counters over the same window, for comparison.)
//   histograms: [{ device, op: "read" | "write", buckets, unit: "us", count,
//                  q2c: [{ lowUs, highUs | null, count }], d2c: [...] }]       non-empty buckets only
//   processes: [{ pid | null, comm, command, container: ContainerRef | null, exited,
//                 owner: "process" | "cgroup" | "unknown", writeback, label,
//                 readBps, writeBps,           filesystem level: page-cache reads, pages newly dirtied, direct IO
//                 diskReadBps, diskWriteBps,   block requests charged to it
//                 readOps, writeOps, q2cUs, d2cUs, maxQ2cUs, maxD2cUs, fileCount,
//                 files: [{ path (absolute, mount point included) | null, pathSource, deleted, device, devNo: "7:3",
//                           inode, kind: "file" | "metadata" | "swap" | "unknown", direct, writeback,
//                           chargedVia: "submitter" | "dirtier" | "cgroup" | "flusher",
//                           readBps, writeBps, diskReadBps, diskWriteBps, readOps, writeOps,
//                           q2cUs, d2cUs, maxQ2cUs, maxD2cUs, submittedBy: [{ pid, comm }] }] }]
//       Writeback is charged to the process that dirtied the file during the window (chargedVia
//       "dirtier", submittedBy names the flusher); else to the cgroup the kernel charged it to (cgroup
//       writeback, owner "cgroup"); else it stays with the flusher that wrote it, owner "unknown",
//       labelled: the pages were dirtied before the window. Rows are ranked by bytes that reached the disk.
//   containers: [{ container: ContainerRef | null (host), processes, readBps, writeBps, diskReadBps, diskWriteBps, readOps, writeOps }]
//   stalls: [{ pid, tid, comm, container, waitMs, stillWaiting, stack: string[] (innermost first) }],
//   stallCount: number                    all waits in io_schedule ≥ stallThreshold (stalls holds the 20 longest)
// }
//
// Limits (what the numbers are and are not):
// - A request is charged to one (process, file): its first bio's. Bios of several files merged into one
//   request (small files written back together) all count for the first.
// - Filesystem-level bytes: reads are each read(2)'s requested page range, counted once per call from
//   mm_filemap_get_pages (a batch returned through that function's error path is not traced, so a read
//   can count from its second batch), page faults one page each; writes are folios newly dirtied
//   (rewriting a page that is already dirty does not count). mmap writes count when the page is dirtied.
// - Writeback of pages dirtied before the window has no known owner unless the kernel charged it to a
//   cgroup (cgroup v2 writeback); it stays with the flusher, labelled. An inode dirtied by several
//   processes in the window is charged to the last one.
// - Direct IO is matched to its file through iomap (ext4, xfs, btrfs, f2fs, …); raw block-device direct
//   IO and other paths are "direct, file unknown" on the device.
// - Stalls are measured from the switch-out with in_iowait set to the switch-in (run-queue wait
//   included); a task already waiting when the window opened is not seen. Kernel stacks of sleeping
//   tasks start below the scheduler functions (io_schedule, schedule), as in /proc/PID/stack.
// - Paths: see ./iotracing/paths.ts.
import type { IotracingConfig } from '../config';
import type { CapturePlan } from '../capture/manager';
import { CaptureError } from '../capture/errors';
import { readBlockDevices, readDiskstats, type BlockDevice, type DiskStat } from '../host/diskstats';
import { Tracer, manualTrigger, type Candidate, type ManualRequest, type TracerEnv } from './tracer';
import {
  IotracingDetector,
  RULE_METRIC,
  ruleReason,
  ruleScore,
  type IoDeviceReading,
  type IoRule,
} from './iotracing/detector';
import { captureIo } from './iotracing/capture';
import type { IoReport } from './iotracing/report';

export { IotracingDetector } from './iotracing/detector';

interface IoDetail {
  reading: IoDeviceReading;
  rule: IoRule;
}

const DEVICE_REFRESH_MS = 30_000;
const MiB = 1024 * 1024;

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function bytesText(bps: number): string {
  return bps >= MiB ? `${round(bps / MiB)} MiB/s` : `${round(bps / 1024)} KiB/s`;
}

/** One line: the worst device's latency, the top process and file, the stalls. */
export function ioSummary(lead: string, r: IoReport, stallThresholdMs: number): string {
  const parts: string[] = [lead];
  const dev = [...r.devices].sort(
    (a, b) => b.traced.read.ios + b.traced.write.ios - (a.traced.read.ios + a.traced.write.ios)
  )[0];
  if (dev) {
    const ops = (['read', 'write'] as const)
      .filter((o) => dev.traced[o].ios > 0)
      .map(
        (o) =>
          `${o} q2c ${dev.traced[o].q2cAvgUs ?? '?'} µs (p99 ${dev.traced[o].q2cP99Us ?? '?'}) d2c ${dev.traced[o].d2cAvgUs ?? '?'} µs`
      );
    if (ops.length) parts.push(`${dev.device}: ${ops.join(', ')}`);
  }
  const p = r.processes[0];
  if (p) {
    const who = p.pid === null ? `cgroup writeback` : `${p.comm}[${p.pid}]`;
    const where = p.container ? ` in ${p.container.name ?? p.container.id.slice(0, 12)}` : '';
    const f = p.files[0];
    const what = `${bytesText(p.diskReadBps)} read, ${bytesText(p.diskWriteBps)} written`;
    parts.push(
      `top ${who}${where} ${what}${f?.path ? ` (${f.path}${f.writeback ? ', writeback' : f.direct ? ', direct' : ''})` : ''}`
    );
  }
  if (r.stallCount) parts.push(`${r.stallCount} io_schedule wait(s) ≥ ${stallThresholdMs} ms`);
  return parts.join('; ');
}

export class IotracingTracer extends Tracer<IotracingConfig> {
  readonly type = 'iotracing' as const;
  readonly scope = 'host' as const;
  private detector: IotracingDetector;
  private devices: BlockDevice[] = [];
  private devicesAt = -Infinity;

  constructor(
    config: IotracingConfig,
    env: TracerEnv,
    private readonly readStats: () => Map<string, DiskStat> | null = () => readDiskstats(),
    private readonly readDevices: () => BlockDevice[] = () => readBlockDevices()
  ) {
    super(config, env);
    this.detector = new IotracingDetector(config);
  }

  protected override reconfigured(): void {
    this.detector.reconfigure(this.config);
  }

  private wholeDisks(now: number, fresh = false): BlockDevice[] {
    if (fresh || now - this.devicesAt >= DEVICE_REFRESH_MS || now < this.devicesAt) {
      // detached loop devices and empty drives have size 0
      this.devices = this.readDevices().filter((d) => d.sizeBytes === null || d.sizeBytes > 0);
      this.devicesAt = now;
    }
    return this.devices;
  }

  protected tick(now: number): Candidate[] {
    const stats = this.readStats();
    if (!stats) return [];
    const devices = this.wholeDisks(now);
    // a device that appeared since the last refresh is picked up at the next one
    const readings = this.detector.update(stats, now, devices);
    const cfg = this.config;
    const out: Candidate[] = [];
    for (const r of readings) {
      const scope = r.device.name;
      this.publish({
        metric: RULE_METRIC.util,
        scope,
        value: r.readings.util.value,
        baseline: r.readings.util.baseline,
        threshold: cfg.utilThreshold,
      });
      this.publish({
        metric: RULE_METRIC.read_await,
        scope,
        value: r.readings.read_await.value,
        baseline: r.readings.read_await.baseline,
        threshold: cfg.awaitThreshold,
      });
      this.publish({
        metric: RULE_METRIC.write_await,
        scope,
        value: r.readings.write_await.value,
        baseline: r.readings.write_await.baseline,
        threshold: cfg.awaitThreshold,
      });
      const rule = r.fired[0];
      if (!rule) continue;
      const x = r.readings[rule];
      out.push({
        // one cooldown for the host (Huatuo's iotracing is a host tracer)
        scope: 'host',
        container: null,
        score: ruleScore(rule, x.value, cfg),
        detail: { reading: r, rule } satisfies IoDetail,
        trigger: {
          metric: RULE_METRIC[rule],
          value: round(x.value, 2),
          threshold: rule === 'util' ? cfg.utilThreshold : cfg.awaitThreshold,
          baseline: round(x.baseline, 2),
          delta: round(x.delta, 2),
          reason: ruleReason(r, rule, cfg),
        },
      });
    }
    this.forgetScopes(new Set(readings.map((r) => r.device.name)));
    return out;
  }

  protected manualCandidate(req: ManualRequest): Candidate {
    if (req.container)
      throw new CaptureError(
        'BAD_REQUEST',
        'iotracing captures the whole host (every process doing IO); leave out the container'
      );
    return { scope: 'host', container: null, score: 0, trigger: manualTrigger('iotracing', 'every watched disk') };
  }

  protected plan(c: Candidate, manual: boolean, durationMs: number): CapturePlan {
    const cfg = this.config;
    const env = this.env;
    const detail = c.detail as IoDetail | undefined;
    // a manual capture covers the disks there are now, one attached since the last refresh included
    const watched = () =>
      this.wholeDisks(Date.now(), true)
        .filter((d) => this.detector.watches(d.name))
        .map((d) => d.name);
    return {
      type: 'iotracing',
      trigger: c.trigger,
      container: null,
      durationMs,
      manual,
      async run(ctx) {
        const scopeList = detail ? [detail.reading.device.name] : watched();
        const r = await captureIo(ctx, env, cfg, new Set(scopeList));
        const snapshot = detail ? snapshotOf(detail, cfg) : null;
        const lead = detail
          ? `${detail.reading.device.name} ${c.trigger.metric.replace(/_/g, ' ')} ${c.trigger.value} (baseline ${c.trigger.baseline})`
          : 'manual iotracing capture';
        const w = r.window;
        return {
          summary: ioSummary(lead, r.report, cfg.stallThreshold),
          data: {
            device: detail ? detail.reading.device.name : null,
            snapshot,
            window: {
              startedAt: w.startedAt,
              endedAt: w.endedAt,
              durationMs: r.durationMs,
              devices: scopeList,
              buckets: cfg.histogramBuckets,
              kernel: w.stats,
              missing: w.missing,
            },
            ...r.report,
          },
        };
      },
    };
  }
}

function snapshotOf(d: IoDetail, cfg: IotracingConfig): Record<string, unknown> {
  const { reading: r, rule } = d;
  const x = r.readings[rule];
  return {
    device: r.device.name,
    major: r.device.major,
    minor: r.device.minor,
    rule,
    reason: ruleReason(r, rule, cfg),
    values: {
      utilPercent: round(r.rates.utilPercent),
      readAwaitMs: round(r.rates.readAwaitMs, 3),
      writeAwaitMs: round(r.rates.writeAwaitMs, 3),
      readIops: round(r.rates.readIops),
      writeIops: round(r.rates.writeIops),
      readBps: Math.round(r.rates.readBytesPerSec),
      writeBps: Math.round(r.rates.writeBytesPerSec),
      queueSize: round(r.rates.avgQueueSize, 2),
    },
    baseline: round(x.baseline, 3),
    delta: round(x.delta, 3),
    thresholds: {
      utilPercent: cfg.utilThreshold,
      utilDeltaPercent: cfg.utilDeltaThreshold,
      awaitMs: cfg.awaitThreshold,
      awaitDeltaMs: cfg.awaitDeltaThreshold,
      holdSamples: cfg.holdSamples,
      ...(r.device.nvme ? { nvmeReadBps: cfg.nvmeReadThreshold, nvmeWriteBps: cfg.nvmeWriteThreshold } : {}),
    },
  };
}

// One iotracing capture window: load the block IO programs, take /proc/diskstats at both ends of the
// window while they are attached (so the kernel's own iostat numbers cover the same requests), read
// everything out, and resolve pids, cgroups, paths and stacks into the report.
import fs from 'node:fs';
import type { IotracingConfig } from '../../config';
import type { CaptureContext } from '../../capture/manager';
import type { ContainerRef } from '../../events/event';
import { BlockIoCapture, kdev, type BlockIoWindow } from '../../bpf/blockio';
import {
  diskIoRates,
  partitionParents,
  readBlockDevices,
  readDiskstats,
  type DiskIoRates,
  type DiskStat,
} from '../../host/diskstats';
import { readPidStat, readPidCmdline, displayCommand } from '../../host/process';
import { kernelSymbols } from '../../profiles/symbols/kallsyms';
import type { TracerEnv } from '../tracer';
import { buildIoReport, type DeviceInfo, type IoReport, type ProcessLookup } from './report';
import { PathResolver, type NameInfo } from './paths';

export interface IoCaptureResult {
  report: IoReport;
  window: BlockIoWindow;
  durationMs: number;
  /** per whole disk, /proc/diskstats over the window */
  diskstats: Map<string, DiskIoRates>;
}

/** Every block device by kernel dev_t, with the whole disk it belongs to. */
export function deviceTable(stats: Map<string, DiskStat>): Map<number, DeviceInfo> {
  const disks = readBlockDevices();
  const parents = partitionParents(disks);
  const byName = new Map(disks.map((d) => [d.name, d]));
  const out = new Map<number, DeviceInfo>();
  for (const s of stats.values()) {
    const disk = parents.get(s.name) ?? s.name;
    const d = byName.get(s.name);
    out.set(kdev(s.major, s.minor), {
      name: s.name,
      major: s.major,
      minor: s.minor,
      disk,
      rotational: d?.rotational ?? null,
      nvme: d?.nvme ?? false,
    });
  }
  return out;
}

/** cgroup directory inode (the kernel's cgroup id) → container, per hierarchy (each hierarchy numbers
 *  its cgroups on its own), for processes gone before we looked. */
function containersByCgroupId(env: TracerEnv): {
  unified: Map<string, ContainerRef>;
  cpu: Map<string, ContainerRef>;
  blkio: Map<string, ContainerRef>;
} {
  const out = {
    unified: new Map<string, ContainerRef>(),
    cpu: new Map<string, ContainerRef>(),
    blkio: new Map<string, ContainerRef>(),
  };
  for (const c of env.containers.list()) {
    for (const [h, dir] of [
      ['unified', c.dirs.unified],
      ['cpu', c.dirs.cpu],
      ['blkio', c.dirs.blkio],
    ] as const) {
      if (!dir) continue;
      try {
        out[h].set(fs.statSync(dir, { bigint: true }).ino.toString(), c.ref);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

function sameProcess(live: string, recorded: string): boolean {
  if (!recorded) return true;
  // kernel worker names change with the work they run ("kworker/u4:2-flush-7:0")
  return live === recorded || live.startsWith(recorded) || recorded.startsWith(live);
}

export async function captureIo(
  ctx: CaptureContext,
  env: TracerEnv,
  cfg: IotracingConfig,
  scope: ReadonlySet<string> | null
): Promise<IoCaptureResult> {
  const layout = env.containers.layout;
  const before = readDiskstats();
  if (!before) throw new Error('/proc/diskstats is not readable');
  const devices = deviceTable(before);
  const cap = new BlockIoCapture({
    stallNs: cfg.stallThreshold * 1e6,
    trackFs: cfg.fsAccounting,
    trackDirtier: cfg.writebackAttribution,
    recordCgroupV1: layout.mode !== 'v2' && layout.v1.has('cpu'),
    disks: [...devices.values()].filter((d) => d.disk === d.name).length,
  });
  cap.start();
  let window: BlockIoWindow;
  let d0: Map<string, DiskStat> | null = null;
  let t0 = 0;
  let t1 = 0;
  let d1: Map<string, DiskStat> | null = null;
  try {
    // diskstats while the programs are attached: both see the same completions
    d0 = readDiskstats();
    t0 = Date.now();
    await ctx.wait(ctx.durationMs);
    d1 = readDiskstats();
    t1 = Date.now();
    window = cap.stop();
  } finally {
    cap.close();
  }
  const durationMs = Math.max(1, t1 - t0);
  const diskstats = new Map<string, DiskIoRates>();
  if (d0 && d1) for (const r of diskIoRates(d0, d1, durationMs)) diskstats.set(r.name, r);

  for (const m of window.missing) ctx.degrade(`iotracing: ${m}`);
  const st = window.stats;
  if (st.linkMapFull)
    ctx.degrade(`iotracing: ${st.linkMapFull} requests could not be attributed (in-flight table full)`);
  if (st.aggMapFull) ctx.degrade(`iotracing: ${st.aggMapFull} records dropped (aggregation table full)`);
  if (st.namesLost) ctx.degrade(`iotracing: ${st.namesLost} file names lost (ring buffer full)`);
  if (st.stallsLost) ctx.degrade(`iotracing: ${st.stallsLost} stall reports lost (ring buffer full)`);

  const names = new Map<string, NameInfo>();
  for (const n of window.names) names.set(PathResolver.key(n.sbDev, n.ino), n);
  const paths = new PathResolver(names);
  const byCgroup = containersByCgroupId(env);
  const procCache = new Map<number, { comm: string; command: string | null; container: ContainerRef | null } | null>();
  const syms = kernelSymbols();

  const report = buildIoReport({
    window,
    durationMs,
    scope,
    devices,
    diskstats,
    topProcesses: cfg.topProcesses,
    topFiles: cfg.topFiles,
    buckets: cfg.histogramBuckets,
    resolve: {
      process(pid: number, comm: string): ProcessLookup | null {
        let p = procCache.get(pid);
        if (p === undefined) {
          const stat = readPidStat(pid);
          if (!stat) p = null;
          else {
            const argv = readPidCmdline(pid);
            p = {
              comm: stat.comm,
              command: argv ? displayCommand(argv, stat.comm, 512) : null,
              container: env.containers.forPid(pid),
            };
          }
          procCache.set(pid, p);
        }
        return p && sameProcess(p.comm, comm) ? p : null;
      },
      container(ids) {
        // the io controller's hierarchy: v1 blkio when mounted, else the unified one
        const blk = layout.v1.has('blkio') ? byCgroup.blkio : byCgroup.unified;
        const tries: [bigint, Map<string, ContainerRef>][] = [
          [ids.cgroupV1, byCgroup.cpu],
          [ids.cgroup, byCgroup.unified],
          [ids.blkcg ?? 0n, blk],
        ];
        for (const [id, m] of tries) {
          const c = id ? m.get(id.toString()) : undefined;
          if (c) return c;
        }
        return null;
      },
      path: (sbDev, ino, pids) => paths.resolve(sbDev, ino, pids),
      symbol: (addr) => syms.frame(addr).name,
    },
  });
  return { report, window, durationMs, diskstats };
}

// A filesystem on a loop device, mounted at a known path, for IO tests. The image lives on tmpfs
// (/dev/shm) so tests never load the machine's real disk. Everything is undone by cleanup(), also
// after a failure halfway through setup; leftovers of a test process that died are removed by the
// next makeLoopFs().
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoopFs {
  /** loop device name, e.g. "loop3" */
  device: string;
  devPath: string;
  major: number;
  minor: number;
  fsType: 'ext4' | 'xfs';
  mountPoint: string;
  image: string;
  cleanup(): Promise<void>;
}

const PREFIX = 'autotracing-io-';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function teardown(dir: string, mountPoint: string, devPath: string | null): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const mounted = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === mountPoint);
    if (!mounted || tryRun('umount', [mountPoint])) break;
    if (i === 49) tryRun('umount', ['-l', mountPoint]);
    else await sleep(100);
  }
  if (devPath) {
    for (let i = 0; i < 20 && !tryRun('losetup', ['-d', devPath]); i++) await sleep(100);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Remove what earlier, killed test processes left behind (their pid is in the directory name). */
export async function removeStaleLoopFs(base = '/dev/shm'): Promise<void> {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(base).filter((e) => e.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const e of entries) {
    const pid = Number(e.slice(PREFIX.length).split('-')[0]);
    if (!Number.isFinite(pid) || alive(pid)) continue;
    const dir = path.join(base, e);
    const image = path.join(dir, 'image');
    let dev: string | null = null;
    try {
      dev = run('losetup', ['-j', image]).split(':')[0]?.trim() || null;
    } catch {
      dev = null;
    }
    await teardown(dir, path.join(dir, 'mnt'), dev);
  }
}

export function fsAvailable(fsType: 'ext4' | 'xfs'): boolean {
  return tryRun('sh', ['-c', `command -v mkfs.${fsType}`]);
}

let seq = 0;

/**
 * Create an image of sizeMiB on tmpfs, attach it to a free loop device, make the filesystem and mount
 * it at <dir>/mnt. xfs needs at least 300 MiB.
 */
export async function makeLoopFs(opts: { fsType: 'ext4' | 'xfs'; sizeMiB?: number; base?: string }): Promise<LoopFs> {
  await removeStaleLoopFs(opts.base);
  const size = opts.sizeMiB ?? (opts.fsType === 'xfs' ? 320 : 256);
  const dir = path.join(opts.base ?? '/dev/shm', `${PREFIX}${process.pid}-${seq++}`);
  const mountPoint = path.join(dir, 'mnt');
  const image = path.join(dir, 'image');
  let devPath: string | null = null;
  try {
    fs.mkdirSync(mountPoint, { recursive: true });
    fs.closeSync(fs.openSync(image, 'w'));
    fs.truncateSync(image, size * 1024 * 1024);
    devPath = run('losetup', ['-f', '--show', image]).trim();
    const device = path.basename(devPath);
    const [major, minor] = fs.readFileSync(`/sys/block/${device}/dev`, 'utf8').trim().split(':').map(Number) as [
      number,
      number,
    ];
    run(`mkfs.${opts.fsType}`, opts.fsType === 'xfs' ? ['-q', '-f', devPath] : ['-q', '-F', devPath]);
    run('mount', [devPath, mountPoint]);
    const dev = devPath;
    return {
      device,
      devPath: dev,
      major,
      minor,
      fsType: opts.fsType,
      mountPoint,
      image,
      cleanup: () => teardown(dir, mountPoint, dev),
    };
  } catch (e) {
    await teardown(dir, mountPoint, devPath);
    throw e;
  }
}

export interface ThrottledCgroup {
  dir: string;
  procs: string;
  remove(): Promise<void>;
}

/**
 * A cgroup whose writes to one block device are throttled to `iops` (cgroup v1 blkio, or the io
 * controller of the unified hierarchy): a process in it doing direct IO waits in io_schedule.
 */
export function throttledCgroup(name: string, major: number, minor: number, iops: number): ThrottledCgroup {
  const v1 = '/sys/fs/cgroup/blkio';
  let dir: string;
  if (fs.existsSync(`${v1}/cgroup.procs`)) {
    dir = path.join(v1, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'blkio.throttle.write_iops_device'), `${major}:${minor} ${iops}`);
  } else {
    const root = fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
    if (!fs.readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('io')) {
      throw new Error(`no blkio (v1) or io (v2) controller: cannot throttle IO for the test`);
    }
    fs.writeFileSync(path.join(root, 'cgroup.subtree_control'), '+io');
    dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'io.max'), `${major}:${minor} wiops=${iops}`);
  }
  return {
    dir,
    procs: path.join(dir, 'cgroup.procs'),
    async remove() {
      for (let i = 0; i < 50; i++) {
        try {
          fs.rmdirSync(dir);
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
          await sleep(100);
        }
      }
    },
  };
}

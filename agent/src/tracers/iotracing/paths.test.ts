import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  parseMountinfoDevs,
  resolveMountPath,
  relativePath,
  userDevParts,
  pathFromFds,
  PathResolver,
  type NameInfo,
} from './paths';

const MOUNTINFO = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '60 27 7:3 / /mnt/data\\040disk rw,relatime - xfs /dev/loop3 rw',
  // a bind mount of a subdirectory of the same filesystem
  '61 27 7:3 /volumes/app /srv/app rw,relatime - xfs /dev/loop3 rw',
  // btrfs subvolume: anonymous device, root inside the filesystem
  '62 27 0:51 /@home /home rw,relatime - btrfs /dev/vdb2 rw',
  // 7:4 mounted on /mnt/old, then another filesystem mounted over it
  '63 27 7:4 / /mnt/old rw - ext4 /dev/loop4 rw',
  '64 63 7:5 / /mnt/old rw - ext4 /dev/loop5 rw',
  '65 27 7:4 / /mnt/again rw - ext4 /dev/loop4 rw',
].join('\n');

test('mountinfo with device numbers, escapes undone', () => {
  const m = parseMountinfoDevs(MOUNTINFO + '\ngarbage line\n');
  assert.equal(m.length, 7);
  assert.deepEqual(m[1], {
    mountId: 60,
    parentId: 27,
    major: 7,
    minor: 3,
    root: '/',
    mountPoint: '/mnt/data disk',
    fsType: 'xfs',
    source: '/dev/loop3',
  });
  assert.equal(m[3]!.root, '/@home');
});

test('absolute path: the mount nearest the filesystem root wins; bind mounts and subvolumes; shadowed mounts skipped', () => {
  const m = parseMountinfoDevs(MOUNTINFO);
  assert.equal(resolveMountPath('/volumes/app/db/x.dat', 7, 3, m)?.path, '/mnt/data disk/volumes/app/db/x.dat');
  assert.equal(resolveMountPath('/a.log', 7, 3, m)?.path, '/mnt/data disk/a.log');
  // only reachable through the bind mount when the plain mount is gone
  const onlyBind = m.filter((x) => x.mountId !== 60);
  assert.equal(resolveMountPath('/volumes/app/db/x.dat', 7, 3, onlyBind)?.path, '/srv/app/db/x.dat');
  assert.equal(resolveMountPath('/other/y', 7, 3, onlyBind), null);
  assert.equal(resolveMountPath('/@home/ann/notes.txt', 0, 51, m)?.path, '/home/ann/notes.txt');
  assert.equal(resolveMountPath('/f', 254, 0, m)?.path, '/f');
  assert.equal(resolveMountPath('/f', 7, 4, m)?.path, '/mnt/again/f', 'the mount hidden under 7:5 is not used');
  assert.equal(resolveMountPath('/f', 8, 1, m), null);
  assert.equal(relativePath(['a', 'b']), '/a/b');
});

test('device numbers as fs.stat reports them', () => {
  assert.deepEqual(userDevParts(0x0703), [7, 3]);
  assert.deepEqual(userDevParts((259n << 8n) | 1n), [259, 1]);
  // glibc's makedev for large numbers: major and minor are split across the 64 bits
  const makedev = (ma: bigint, mi: bigint) =>
    ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
  assert.deepEqual(userDevParts(makedev(0x12345n, 0xabcden)), [0x12345, 0xabcde]);
});

test('resolver: mountinfo first, then the open files of the process, then the filesystem-relative path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotracing-paths-'));
  const file = path.join(dir, 'open.dat');
  fs.writeFileSync(file, 'x');
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.statSync(file, { bigint: true });
    const [ma, mi] = userDevParts(st.dev);
    const kdev = (ma << 20) | mi;
    assert.equal(pathFromFds(process.pid, ma, mi, st.ino), file);
    const names = new Map<string, NameInfo>([
      [
        PathResolver.key((7 << 20) | 3, 12n),
        { components: ['volumes', 'app', 'x.dat'], truncated: false, deleted: false, noDentry: false },
      ],
      [
        PathResolver.key((9 << 20) | 9, 5n),
        { components: ['deep', 'x'], truncated: true, deleted: false, noDentry: false },
      ],
    ]);
    const r = new PathResolver(names, { mountinfo: MOUNTINFO });
    assert.deepEqual(r.resolve((7 << 20) | 3, 12n), {
      path: '/mnt/data disk/volumes/app/x.dat',
      source: 'mountinfo',
      mountPoint: '/mnt/data disk',
      fsType: 'xfs',
      deleted: false,
      truncated: false,
    });
    // no name from the kernel and no mount in this (fake) table: the process's open fds find it
    const viaFd = r.resolve(kdev, st.ino, [process.pid]);
    assert.equal(viaFd.path, file);
    assert.equal(viaFd.source, 'open-fd');
    const rel = r.resolve((9 << 20) | 9, 5n);
    assert.equal(rel.path, '9:9:…/deep/x');
    assert.equal(rel.source, 'fs-relative');
    assert.deepEqual(r.resolve((9 << 20) | 9, 6n), {
      path: null,
      source: 'none',
      mountPoint: null,
      fsType: null,
      deleted: false,
      truncated: false,
    });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

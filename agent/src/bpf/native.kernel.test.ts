// The native addon against the real kernel: these load real BPF programs and fail (not skip) when
// the machine cannot — an eBPF capability we silently lose is a product defect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openObject, native, le, isBpfError, type BpfObject } from './native';

function loadSelftest(): BpfObject {
  const o = openObject('selftest');
  o.setGlobal('target_tgid', le.u32(process.pid));
  o.setGlobal('magic', le.u64(0xfeedfacecafebeefn));
  o.load();
  return o;
}

function hits(o: BpfObject, idx: number): number {
  const v = o.map('hits').lookup(le.u32(idx));
  assert.ok(v);
  return Number(v.readBigUInt64LE(0));
}

/** process.ppid calls getppid(2) every time it is read. */
function getppid(n: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) s += process.ppid;
  assert.ok(s > 0);
}

test('globals: const volatile set before load, .bss readable and writable after load', () => {
  const o = openObject('selftest');
  try {
    assert.equal(o.state, 'opened');
    assert.throws(() => o.setGlobal('target_tgid', Buffer.alloc(8)), /4 bytes, got 8/);
    assert.throws(
      () => o.setGlobal('no_such_var', le.u32(1)),
      (e: unknown) => isBpfError(e) && e.code === 'ENOENT'
    );
    o.setGlobal('target_tgid', le.u32(process.pid));
    assert.equal(o.getGlobal('target_tgid').readUInt32LE(0), process.pid);
    o.load();
    assert.equal(o.state, 'loaded');
    assert.throws(() => o.setGlobal('target_tgid', le.u32(1)), /read-only after load/);
    o.setGlobal('bss_counter', le.u64(42));
    assert.equal(o.getGlobal('bss_counter').readBigUInt64LE(0), 42n);
    assert.throws(() => o.load(), /already loaded/);
  } finally {
    o.close();
  }
  assert.equal(o.state, 'closed');
  assert.throws(() => o.map('kv'), /closed/);
});

test('maps: update, lookup, delete, keys, dump (batched and with delete), per-CPU stride', () => {
  const o = loadSelftest();
  try {
    const kv = o.map('kv');
    assert.equal(kv.info.keySize, 4);
    assert.equal(kv.info.valueSize, 8);
    assert.equal(kv.lookup(le.u32(7)), null);
    for (let i = 0; i < 300; i++) kv.update(le.u32(i), le.u64(i * 10));
    assert.equal(kv.lookup(le.u32(7))!.readBigUInt64LE(0), 70n);
    assert.equal(kv.delete(le.u32(7)), true);
    assert.equal(kv.delete(le.u32(7)), false);
    assert.equal(kv.keys().length / 4, 299);
    assert.throws(
      () => kv.update(le.u32(1), le.u64(1), 1 /* BPF_NOEXIST */),
      (e: unknown) => isBpfError(e) && e.code === 'EEXIST'
    );
    assert.throws(() => kv.lookup(Buffer.alloc(3)), /4 bytes, got 3/);

    const d = kv.dump();
    assert.equal(d.count, 299);
    assert.equal(d.batched, true);
    const seen = new Set<number>();
    for (let i = 0; i < d.count; i++) {
      const k = d.keys.readUInt32LE(i * 4);
      assert.equal(Number(d.values.readBigUInt64LE(i * 8)), k * 10);
      seen.add(k);
    }
    assert.equal(seen.size, 299);
    assert.ok(!seen.has(7));

    const drained = kv.dump({ delete: true });
    assert.equal(drained.count, 299);
    assert.equal(kv.keys().length, 0);

    const pc = o.map('pcpu');
    assert.equal(pc.info.percpu, true);
    assert.equal(pc.info.valueStride, 8 * native().numPossibleCpus());
    assert.equal(pc.lookup(le.u32(0))!.length, pc.info.valueStride);
  } finally {
    o.close();
  }
});

test('tracepoint + ring buffer: records arrive through the event loop, in order, with globals', async () => {
  const o = loadSelftest();
  try {
    const got: Buffer[] = [];
    const rb = o.openRingBuffer('events', (records) => got.push(...records));
    const link = o.attachTracepoint('tp_getppid', 'syscalls', 'sys_enter_getppid');
    o.setGlobal('bss_counter', le.u64(7));
    getppid(500);
    // no consume() call: delivery must come from libuv watching the ring's epoll fd
    for (let i = 0; i < 100 && got.length < 500; i++) await sleep(10);
    assert.equal(got.length, 500);
    got.forEach((r, i) => {
      assert.equal(r.length, 24);
      assert.equal(r.readUInt32LE(0), process.pid);
      assert.equal(r.readUInt32LE(4), i);
      assert.equal(r.readBigUInt64LE(8), 0xfeedfacecafebeefn);
      assert.equal(r.readBigUInt64LE(16), 7n);
    });
    assert.equal(hits(o, 0), 500);
    let pcSum = 0n;
    const pcv = o.map('pcpu').lookup(le.u32(0))!;
    for (let off = 0; off < pcv.length; off += 8) pcSum += pcv.readBigUInt64LE(off);
    assert.equal(pcSum, 500n);
    assert.equal(rb.delivered, 500);
    link.destroy();
    getppid(10);
    await sleep(20);
    assert.equal(hits(o, 0), 500, 'a destroyed link must not fire');
    rb.close();
    assert.equal(rb.closed, true);
  } finally {
    o.close();
  }
});

test('raw tracepoint attaches, counts, and detaches', () => {
  const o = loadSelftest();
  try {
    const link = o.attachRawTracepoint('raw_sys_enter', 'sys_enter');
    getppid(100);
    assert.equal(hits(o, 1), 100);
    link.destroy();
    getppid(10);
    assert.equal(hits(o, 1), 100);
  } finally {
    o.close();
  }
});

// kprobes need CONFIG_KPROBES; fentry needs ftrace direct calls and a policy that allows it. Where the
// kernel has them they must count; where it does not, the failure must be a clear BpfError.
test('kprobe: counts where the kernel has kprobes, clear error where it does not', () => {
  const o = loadSelftest();
  try {
    const kernelHasKprobes =
      fs.existsSync('/sys/kernel/tracing/kprobe_events') || fs.existsSync('/sys/kernel/debug/tracing/kprobe_events');
    if (kernelHasKprobes) {
      const l = o.attachKprobe('kp_getppid', '__x64_sys_getppid');
      getppid(100);
      assert.equal(hits(o, 2), 100);
      l.destroy();
      assert.throws(
        () => o.attachKprobe('kp_getppid', 'no_such_kernel_function_xyz'),
        (e: unknown) => isBpfError(e) && e.errno > 0
      );
    } else {
      assert.throws(
        () => o.attachKprobe('kp_getppid', '__x64_sys_getppid'),
        (e: unknown) => isBpfError(e) && e.errno > 0 && /kprobe __x64_sys_getppid/.test(e.message)
      );
    }
  } finally {
    o.close();
  }
});

test('fentry: counts where the kernel allows it, clear error where it does not', () => {
  const o = openObject('selftest');
  o.setGlobal('target_tgid', le.u32(process.pid));
  o.setAutoload('fe_getppid', true);
  try {
    let loaded = false;
    try {
      o.load();
      loaded = true;
    } catch (e) {
      assert.ok(isBpfError(e), 'load failure is a BpfError');
      assert.ok(['EPERM', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ESRCH'].includes(e.code), e.code);
      assert.match(e.message, /fe_getppid/);
    }
    if (loaded) {
      const l = o.attach('fe_getppid');
      getppid(100);
      assert.equal(hits(o, 3), 100);
      l.destroy();
    }
  } finally {
    o.close();
  }
});

test('task iterator: reads every thread, and only one process with a pid filter', () => {
  const o = loadSelftest();
  try {
    const all = o.readIter('iter_tasks').toString();
    const lines = all.trim().split('\n');
    assert.ok(lines.length > 10, `expected many threads, got ${lines.length}`);
    assert.ok(lines.some((l) => l.startsWith(`${process.pid} ${process.pid} `)));
    // every process /proc lists (and that is still alive after the sweep) appears in the iterator
    const tgids = new Set(lines.map((l) => Number(l.split(' ')[0])));
    const procPids = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
    const missing = procPids.filter((p) => !tgids.has(p) && fs.existsSync(`/proc/${p}`));
    assert.ok(missing.length <= 1, `processes missing from the task iterator: ${missing.join(', ')}`);
    const mine = o.readIter('iter_tasks', { pid: process.pid }).toString().trim().split('\n');
    assert.ok(mine.length >= 1);
    for (const l of mine) assert.equal(l.split(' ')[0], String(process.pid));
    const threads = fs.readdirSync(`/proc/${process.pid}/task`).length;
    assert.ok(Math.abs(mine.length - threads) <= 2, `${mine.length} lines vs ${threads} threads`);
  } finally {
    o.close();
  }
});

test('a verifier rejection is a JS error with errno and the verifier log', () => {
  const o = openObject('selftest');
  try {
    o.setAutoload('bad_prog', true);
    assert.throws(
      () => o.load(),
      (e: unknown) => {
        assert.ok(isBpfError(e));
        assert.ok(e.errno > 0);
        assert.match(e.code, /^E[A-Z]+$/);
        assert.match(e.libbpfLog ?? '', /bad_prog/);
        assert.match(e.libbpfLog ?? '', /invalid mem access|map_value_or_null/);
        return true;
      }
    );
  } finally {
    o.close();
  }
});

test('200 open/attach/close cycles leak no file descriptors', () => {
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  // warm up once: libbpf caches kernel BTF and feature probes on first use
  const w = loadSelftest();
  w.attachTracepoint('tp_getppid', 'syscalls', 'sys_enter_getppid');
  w.openRingBuffer('events', () => undefined);
  w.close();
  const before = fds();
  for (let i = 0; i < 200; i++) {
    const o = loadSelftest();
    o.attachTracepoint('tp_getppid', 'syscalls', 'sys_enter_getppid');
    o.attachRawTracepoint('raw_sys_enter', 'sys_enter');
    o.openRingBuffer('events', () => undefined);
    o.close(); // must tear down links and the ring buffer too
  }
  const p = openObject('profile');
  p.load();
  const before2 = fds();
  for (let i = 0; i < 20; i++) p.attachPerfEvent('profile_sample', { frequency: 49 }).destroy();
  assert.equal(fds(), before2, 'perf event fds are closed with their links');
  p.close();
  assert.equal(fds(), before, 'fd count after 200 cycles');
});

test('ELF symbols: build id, loads and demangled function symbols of a real binary', () => {
  const elf = native().readElfSymbols(process.execPath);
  assert.match(elf.buildId ?? '', /^[0-9a-f]{40}$/);
  assert.ok(elf.loads.some((l) => l.executable));
  assert.ok(elf.symbols.names.length > 1000);
  const s = elf.symbols.start;
  for (let i = 1; i < s.length; i++) assert.ok(s[i]! > s[i - 1]!, 'sorted and unique');
  const mangled = elf.symbols.names.find((n) => n.startsWith('_ZN4node'));
  assert.ok(mangled, 'names come as in the file');
  assert.match(native().demangle(mangled), /^node::/, 'and demangle on request');
  assert.equal(native().demangle('main'), 'main');
  assert.throws(
    () => native().readElfSymbols('/etc/hostname'),
    (e: unknown) => isBpfError(e) && e.code === 'ENOEXEC'
  );
});

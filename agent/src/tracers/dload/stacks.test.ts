import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelSymbols } from '../../profiles/symbols/kallsyms';
import { DEFAULT_KNOWN_ISSUES } from '../../config/schema';
import {
  compileKnownIssues,
  firstKnownIssue,
  groupByStack,
  issueOf,
  kernelFrames,
  parseProcStack,
  schedTextRange,
  foldStack,
} from './stacks';

const KALLSYMS = [
  'ffffffff81000000 T _stext',
  'ffffffff81100000 T entry_SYSCALL_64_after_hwframe',
  'ffffffff81100100 T do_syscall_64',
  'ffffffff81200000 T __x64_sys_vfork',
  'ffffffff81200100 T kernel_clone',
  'ffffffff81300000 T bpf_trace_run4',
  'ffffffff821f84a0 T __sched_text_start',
  'ffffffff821f9000 T __schedule',
  'ffffffff821fa000 T schedule',
  'ffffffff821fa030 t __wait_for_common',
  'ffffffff821fa2d0 T wait_for_completion_state',
  'ffffffff82200fb7 T __sched_text_end',
  'ffffffff82300000 T _etext',
  '',
].join('\n');

test('kernelFrames: drops the BPF program and tracepoint glue, then the scheduler, innermost first → outermost first', () => {
  const ks = KernelSymbols.parse(KALLSYMS);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kallsyms-'));
  const file = path.join(dir, 'kallsyms');
  fs.writeFileSync(file, KALLSYMS);
  const sched = schedTextRange(file);
  assert.deepEqual(sched, { start: 0xffffffff821f84a0n, end: 0xffffffff82200fb7n });
  // a stack from tp_btf/sched_switch: [bpf prog (unnamed)], bpf_trace_run4, __schedule, schedule, __wait_for_common,
  // wait_for_completion_state, kernel_clone, __x64_sys_vfork, do_syscall_64, entry
  const addrs = [
    0xffffffffc002609bn,
    0xffffffff81300010n,
    0xffffffff821f9010n,
    0xffffffff821fa010n,
    0xffffffff821fa040n,
    0xffffffff821fa2e0n,
    0xffffffff81200180n,
    0xffffffff81200010n,
    0xffffffff81100110n,
    0xffffffff81100010n,
  ];
  assert.deepEqual(kernelFrames(addrs, ks, sched), [
    'entry_SYSCALL_64_after_hwframe',
    'do_syscall_64',
    '__x64_sys_vfork',
    'kernel_clone',
  ]);
  // without the range only the tracing frames go
  assert.equal(kernelFrames(addrs, ks, null).at(-1), '__schedule');
  // a stack of scheduler functions only keeps them
  assert.deepEqual(kernelFrames([0xffffffff821f9010n, 0xffffffff821fa010n], ks, sched), ['schedule', '__schedule']);
  assert.equal(schedTextRange(path.join(dir, 'missing')), null);
  fs.rmSync(dir, { recursive: true });
});

test('parseProcStack: /proc/PID/stack lines, innermost first → names outermost first', () => {
  const text =
    '[<0>] kernel_clone+0x1af/0x3e0\n[<0>] __do_sys_vfork+0x43/0x70\n[<0>] do_syscall_64+0x71/0x280\n[<0>] entry_SYSCALL_64_after_hwframe+0x76/0x7e\n';
  assert.deepEqual(parseProcStack(text), [
    'entry_SYSCALL_64_after_hwframe',
    'do_syscall_64',
    '__do_sys_vfork',
    'kernel_clone',
  ]);
  assert.deepEqual(parseProcStack('[<ffffffffc0a01234>] nfs_wait_bit_killable+0x1/0x2 [nfs]\n'), [
    'nfs_wait_bit_killable',
  ]);
  assert.deepEqual(parseProcStack(''), []);
});

test('known issues: first in list order wins; the default vfork rule matches inlined and separate wait_for_vfork_done', () => {
  const issues = compileKnownIssues(DEFAULT_KNOWN_ISSUES);
  const inlined = ['entry_SYSCALL_64_after_hwframe', 'do_syscall_64', '__x64_sys_vfork', 'kernel_clone'];
  const separate = [
    'entry_SYSCALL_64_after_hwframe',
    'do_syscall_64',
    '__do_sys_vfork',
    'kernel_clone',
    'wait_for_vfork_done',
  ];
  const clone3 = ['entry_SYSCALL_64_after_hwframe', 'do_syscall_64', '__do_sys_clone3', 'kernel_clone'];
  const inClone = [
    'entry_SYSCALL_64_after_hwframe',
    'do_syscall_64',
    '__x64_sys_vfork',
    'kernel_clone',
    'copy_process',
    'folio_wait_bit_common',
  ];
  assert.equal(issueOf(issues, inlined), 'vfork-wait');
  assert.equal(issueOf(issues, separate), 'vfork-wait');
  assert.equal(issueOf(issues, clone3), 'vfork-wait');
  assert.equal(issueOf(issues, inClone), null, 'blocked somewhere inside clone is not the vfork wait');
  const mmap = ['asm_exc_page_fault', 'exc_page_fault', 'lock_mm_and_find_vma', 'rwsem_down_read_slowpath'];
  assert.equal(issueOf(issues, mmap), 'mmap-lock');
  // list order, not stack order, decides
  const custom = compileKnownIssues([
    { name: 'mm', regex: 'lock_mm_and_find_vma' },
    { name: 'any-syscall', regex: 'do_syscall_64' },
    { name: 'bad', regex: '(' },
  ]);
  assert.equal(custom.length, 2, 'an invalid regex is skipped');
  assert.equal(firstKnownIssue(custom, [inlined, mmap])?.name, 'mm');
  assert.equal(firstKnownIssue(custom, [inlined])?.name, 'any-syscall');
  assert.equal(firstKnownIssue(custom, []), null);
  assert.equal(foldStack(['a', 'b']), 'a;b');
});

test('groupByStack: identical stacks together, largest group first, then the longest blocked', () => {
  const t = (tid: number, stack: string[], blockedMs: number | null) => ({ tid, stack, blockedMs });
  const a = ['x', 'y'];
  const b = ['x', 'z'];
  const c = ['w'];
  const groups = groupByStack([t(1, a, 10), t(2, b, 5000), t(3, a, 20), t(4, c, 100), t(5, a, null)]);
  assert.deepEqual(
    groups.map((g) => [g.group, g.stack.join(';'), g.tasks.map((x) => x.tid)]),
    [
      [1, 'x;y', [1, 3, 5]],
      [2, 'x;z', [2]],
      [3, 'w', [4]],
    ]
  );
  assert.deepEqual(groupByStack([]), []);
});

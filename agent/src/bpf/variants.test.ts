import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failingProgram, loadFailureReason, verifierReason } from './variants';

// Logs as libbpf 1.1 reports them on the kernels of the matrix (trimmed).
const PREALLOC = `libbpf: prog 'profile_sample': BPF program load failed: Invalid argument
libbpf: prog 'profile_sample': -- BEGIN PROG LOAD LOG --
perf_event programs can only use preallocated hash map
processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'profile_sample': failed to load: -22
libbpf: failed to load object 'profile.bpf.o'`;

const UNKNOWN_HELPER = `libbpf: prog 'alloc_sample': BPF program load failed: Invalid argument
libbpf: prog 'alloc_sample': -- BEGIN PROG LOAD LOG --
arg#0 type is not a struct
Unrecognized arg#0 type PTR
; st->samples++;
70: (07) r1 += 1
71: (7b) *(u64 *)(r2 +16) = r1
 R0_w=inv(id=5) R1_w=inv(id=0) R2_w=map_value(id=0,off=0,ks=4,vs=40,imm=0)
; struct task_struct *task = bpf_get_current_task_btf();
72: (85) call unknown#158
invalid func unknown#158
processed 73 insns (limit 1000000) max_states_per_insn 0 total_states 4 peak_states 4 mark_read 3
-- END PROG LOAD LOG --
libbpf: prog 'alloc_sample': failed to load: -22
libbpf: failed to load object 'memalloc.bpf.o'`;

const CORE = `libbpf: prog 'dirty_folio': -- BEGIN PROG LOAD LOG --
12: (61) r0 = *(u32 *)(r5 +0)         ; R0_w=12 R5_w=map_value(map=blockio.rodata,ks=4,vs=1912,off=8)
13: <invalid CO-RE relocation>
failed to resolve CO-RE relocation <byte_off> [88] struct folio.flags (0:0:0:0 @ offset 0)
processed 11 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'dirty_folio': failed to load: -22`;

const EXTERN = `libbpf: extern (func ksym) 'bpf_rdonly_cast': not found in kernel or module BTFs
libbpf: failed to load object 'blockio.bpf.o'`;

function bpfError(log: string, code = 'EINVAL'): Error {
  return Object.assign(new Error('load BPF object x.bpf.o: Invalid argument [libbpf: tail of the log]'), {
    errno: 22,
    code,
    libbpfLog: log,
  });
}

test('the verifier reason is the line that says why, not the tail of the log', () => {
  assert.equal(verifierReason(PREALLOC), 'perf_event programs can only use preallocated hash map');
  assert.equal(verifierReason(UNKNOWN_HELPER), 'invalid func unknown#158');
  assert.match(verifierReason(CORE)!, /^failed to resolve CO-RE relocation .* struct folio\.flags/);
  assert.equal(verifierReason(EXTERN), null);
});

test('the failing program is named; an object-level failure names none', () => {
  assert.equal(failingProgram(PREALLOC), 'profile_sample');
  assert.equal(failingProgram(CORE), 'dirty_folio');
  assert.equal(failingProgram(EXTERN), null);
});

test('loadFailureReason: errno code, program and reason in one line', () => {
  assert.equal(loadFailureReason(bpfError(UNKNOWN_HELPER)), 'EINVAL: program alloc_sample: invalid func unknown#158');
  assert.equal(
    loadFailureReason(bpfError(EXTERN)),
    "EINVAL: extern (func ksym) 'bpf_rdonly_cast': not found in kernel or module BTFs"
  );
  assert.equal(loadFailureReason(new Error('plain')), 'plain');
});

// SPDX-License-Identifier: GPL-2.0
/* Exercises every attach kind and map operation of the native addon (agent/src/bpf/native.test.ts).
 * Not used by the agent itself. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
const volatile __u64 magic = 0;
__u64 bss_counter = 0; /* written by user space after load, read by programs */

struct event {
	__u32 pid;
	__u32 seq;
	__u64 magic;
	__u64 bss;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* index 0: tracepoint hits, 1: raw tracepoint, 2: kprobe, 3: fentry */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} kv SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pcpu SEC(".maps");

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline void hit(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

__u32 seq = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_getppid(void *ctx)
{
	if (!mine())
		return 0;
	hit(0);
	__u32 zero = 0;
	__u64 *pc = bpf_map_lookup_elem(&pcpu, &zero);
	if (pc)
		(*pc)++;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = target_tgid;
	e->seq = seq++; /* one thread generates events in the test */
	e->magic = magic;
	e->bss = bss_counter;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (mine() && ctx->args[1] == 110 /* __NR_getppid on x86_64 */)
		hit(1);
	return 0;
}

SEC("kprobe/__x64_sys_getppid")
int kp_getppid(struct pt_regs *ctx)
{
	if (mine())
		hit(2);
	return 0;
}

SEC("?fentry/__do_sys_getppid") /* off by default: some kernels (or LSM policies) refuse fentry */
int BPF_PROG(fe_getppid)
{
	if (mine())
		hit(3);
	return 0;
}

SEC("iter/task")
int iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	/* one line per thread: tgid tid comm */
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d %d %s\n", task->tgid, task->pid, task->comm);
	return 0;
}

/* Rejected by the verifier on purpose (unchecked map value pointer); off unless a test enables it. */
SEC("?tracepoint/syscalls/sys_enter_getppid")
int bad_prog(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&kv, &k);
	return *v;
}

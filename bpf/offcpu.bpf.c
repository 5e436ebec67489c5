// SPDX-License-Identifier: GPL-2.0
/* Off-CPU time in D state (dload captures): when a task leaves the CPU in uninterruptible sleep
 * (sched_switch with prev in TASK_UNINTERRUPTIBLE, not preempted) its time, stacks and cgroups go into
 * `start`; when it is woken (sched_wakeup) — or, if that was missed, when it next gets a CPU — the blocked
 * time is added in the kernel to `counts` per (process, kernel stack, user stack). Tasks already blocked
 * when the window opens are seeded by the `offcpu_seed` task iterator with their kernel stack
 * (bpf_get_task_stack), so their blocked time inside the window counts too. User space closes the
 * window by adding the time of the tasks still blocked. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "taskinfo.h"
#include "offcpu.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 filter_cgroup_id = 0; /* 0: every task; else kernfs id of a cgroup directory */
const volatile __u32 cgroup_mode = CGROUP_MODE_UNIFIED;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32); /* tid */
	__type(value, struct offcpu_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, OFFCPU_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid */
	__type(value, struct offcpu_seed_stack);
} seed_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_seed_stack);
} scratch SEC(".maps");

static __always_inline struct offcpu_stats *get_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline bool in_filter(struct task_struct *t)
{
	if (!filter_cgroup_id)
		return true;
	return cgroup_under(task_cgroup_in(t, cgroup_mode), filter_cgroup_id);
}

static __always_inline void fill_ids(struct offcpu_start *s, struct task_struct *t)
{
	s->tgid = BPF_CORE_READ(t, tgid);
	s->cg_v1 = task_css_cgroup_id(t, bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id));
	s->cg_dfl = task_dfl_cgroup_id(t);
	bpf_probe_read_kernel_str(s->comm, sizeof(s->comm), t->comm);
}

/* The task stopped being blocked at `now`: add its blocked time. Only the caller that deletes the
 * entry accounts it (a wakeup and a switch-in may race on two CPUs). */
static __always_inline void end_block(__u32 tid, __u64 now, bool by_wakeup)
{
	struct offcpu_start *p = bpf_map_lookup_elem(&start, &tid);
	if (!p)
		return;
	struct offcpu_start s = *p;
	if (bpf_map_delete_elem(&start, &tid) != 0)
		return;
	struct offcpu_stats *st = get_stats();
	if (st) {
		if (by_wakeup)
			st->ends_wakeup++;
		else
			st->ends_switch++;
	}
	struct offcpu_key key = {};
	key.tgid = s.tgid;
	key.seed_tid = s.seeded ? tid : 0;
	key.kstack_id = s.kstack_id;
	key.ustack_id = s.ustack_id;
	key.cg_v1 = s.cg_v1;
	key.cg_dfl = s.cg_dfl;
	__builtin_memcpy(key.comm, s.comm, sizeof(key.comm));
	__u64 delta = now > s.ts ? now - s.ts : 0;
	struct offcpu_val *v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		struct offcpu_val zero = {};
		bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, &key);
		if (!v) {
			if (st)
				st->lost_counts++;
			return;
		}
	}
	__sync_fetch_and_add(&v->ns, delta);
	__sync_fetch_and_add(&v->count, 1);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(offcpu_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	end_block(next->pid, now, false);
	if (preempt)
		return 0;
	if (!state_counts_as_d(task_state(prev)))
		return 0;
	struct offcpu_stats *st = get_stats();
	if (!in_filter(prev)) {
		if (st)
			st->filtered++;
		return 0;
	}
	struct offcpu_start s = {};
	s.ts = now;
	s.seeded = 0;
	fill_ids(&s, prev);
	/* current is still prev here: the stacks are the blocking task's */
	s.kstack_id = bpf_get_stackid(ctx, &stacks, 0);
	s.ustack_id = (prev->flags & PF_KTHREAD) ? -1 : bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (st && (s.kstack_id < 0 || (s.ustack_id < 0 && s.ustack_id != -1 && s.ustack_id != -EFAULT)))
		st->lost_stacks++;
	__u32 tid = prev->pid;
	if (bpf_map_update_elem(&start, &tid, &s, BPF_ANY) != 0) {
		if (st)
			st->lost_starts++;
		return 0;
	}
	if (st)
		st->blocks++;
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(offcpu_wakeup, struct task_struct *p)
{
	end_block(p->pid, bpf_ktime_get_ns(), true);
	return 0;
}

SEC("iter/task")
int offcpu_seed(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t)
		return 0;
	if (!state_counts_as_d(task_state(t)) || !in_filter(t))
		return 0;
	struct offcpu_start s = {};
	s.ts = bpf_ktime_get_ns();
	s.kstack_id = -1;
	s.ustack_id = -1;
	s.seeded = 1;
	fill_ids(&s, t);
	__u32 tid = t->pid;
	/* a task that blocked after the programs were attached is already tracked, with exact stacks */
	if (bpf_map_update_elem(&start, &tid, &s, BPF_NOEXIST) != 0)
		return 0;
	__u32 zero = 0;
	struct offcpu_seed_stack *ss = bpf_map_lookup_elem(&scratch, &zero);
	if (!ss)
		return 0;
	__builtin_memset(ss, 0, sizeof(*ss));
	bpf_get_task_stack(t, ss->ip, sizeof(ss->ip), 0);
	bpf_map_update_elem(&seed_stacks, &tid, ss, BPF_ANY);
	struct offcpu_stats *st = get_stats();
	if (st)
		st->seeded++;
	return 0;
}

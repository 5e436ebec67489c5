// SPDX-License-Identifier: GPL-2.0
/* D-state sweep (dload tracer): BPF task iterators instead of taskstats netlink, so it works on
 * cgroup v1, v2 and hybrid hosts alike.
 *   dstate_count: every thread once; counts by state per (cpu-v1 cgroup, unified cgroup) into `counts`
 *                 (user space dumps and clears it after each sweep). Writes nothing to the seq file.
 *   dstate_tasks: one struct dstate_task per thread in D state, with its kernel stack
 *                 (bpf_get_task_stack) and the clocks that tell how long it has been off the CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "taskinfo.h"
#include "dstate.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dstate_key);
	__type(value, struct dstate_counts);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dstate_task);
} scratch SEC(".maps");

/* sweeps that could not count a cgroup because `counts` was full */
__u64 lost_counts = 0;

static __always_inline int cpu_subsys(void)
{
	return bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
}

SEC("iter/task")
int dstate_count(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t)
		return 0;
	/* the sweeping thread itself is running only because it sweeps */
	if (t->pid == (__u32)bpf_get_current_pid_tgid())
		return 0;
	struct dstate_key key = {
		.cg_v1 = task_css_cgroup_id(t, cpu_subsys()),
		.cg_dfl = task_dfl_cgroup_id(t),
	};
	struct dstate_counts *c = bpf_map_lookup_elem(&counts, &key);
	if (!c) {
		struct dstate_counts zero = {};
		if (bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST) && bpf_map_lookup_elem(&counts, &key) == NULL) {
			lost_counts++;
			return 0;
		}
		c = bpf_map_lookup_elem(&counts, &key);
		if (!c)
			return 0;
	}
	__u32 state = task_state(t);
	c->total++;
	if (state == TASK_RUNNING)
		c->running++;
	else if (state_counts_as_d(state)) {
		c->uninterruptible++;
		if (BPF_CORE_READ_BITFIELD_PROBED(t, in_iowait))
			c->iowait++;
	} else if (state & (__TASK_STOPPED | __TASK_TRACED))
		c->stopped++;
	else if (state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE))
		c->sleeping++;
	return 0;
}

/* thread_info.cpu (CONFIG_THREAD_INFO_IN_TASK, x86 from 5.16), else the task's own cpu field. */
struct thread_info___cpu {
	unsigned int cpu;
} __attribute__((preserve_access_index));
struct task_struct___ti {
	struct thread_info___cpu thread_info;
	unsigned int cpu;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_cpu_of(struct task_struct *t)
{
	struct task_struct___ti *x = (void *)t;
	if (bpf_core_field_exists(x->thread_info.cpu))
		return BPF_CORE_READ(x, thread_info.cpu);
	if (bpf_core_field_exists(x->cpu))
		return BPF_CORE_READ(x, cpu);
	return BPF_CORE_READ(t, wake_cpu);
}

SEC("iter/task")
int dstate_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	if (!t)
		return 0;
	__u32 state = task_state(t);
	if (!state_counts_as_d(state))
		return 0;
	__u32 zero = 0;
	struct dstate_task *r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	r->tgid = t->tgid;
	r->tid = t->pid;
	r->cg_v1 = task_css_cgroup_id(t, cpu_subsys());
	r->cg_dfl = task_dfl_cgroup_id(t);
	r->state = state;
	r->flags = t->flags;
	r->now_ns = bpf_ktime_get_ns();
	r->exec_start = BPF_CORE_READ(t, se.exec_start);
	r->last_arrival = bpf_core_field_exists(t->sched_info.last_arrival) ? BPF_CORE_READ(t, sched_info.last_arrival) : 0;
	r->cpu = task_cpu_of(t);
	/* the rq of the task's CPU and of this CPU, through the CFS entity (no per-CPU ksym needed: that
	 * would need CONFIG_KALLSYMS_ALL). Absent without CONFIG_FAIR_GROUP_SCHED: then user space falls back. */
	r->task_rq_clock = 0;
	r->task_rq_clock_task = 0;
	r->this_rq_clock = 0;
	if (bpf_core_field_exists(t->se.cfs_rq) && bpf_core_field_exists(struct cfs_rq, rq)) {
		struct rq *trq = BPF_CORE_READ(t, se.cfs_rq, rq);
		if (trq) {
			r->task_rq_clock = BPF_CORE_READ(trq, clock);
			r->task_rq_clock_task = BPF_CORE_READ(trq, clock_task);
		}
		struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
		struct rq *this_rq = BPF_CORE_READ(cur, se.cfs_rq, rq);
		if (this_rq)
			r->this_rq_clock = BPF_CORE_READ(this_rq, clock);
	}
	r->start_time = BPF_CORE_READ(t, start_time);
	r->in_iowait = BPF_CORE_READ_BITFIELD_PROBED(t, in_iowait);
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), t->comm);
	r->stack_bytes = bpf_get_task_stack(t, r->stack, sizeof(r->stack), 0);
	bpf_seq_write(seq, r, sizeof(*r));
	return 0;
}

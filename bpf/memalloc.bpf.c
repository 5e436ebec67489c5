// SPDX-License-Identifier: GPL-2.0
/* Memory evidence for memburst.
 *   rss_sweep (task iterator): every process's resident set by kind, its memory cgroups and identity,
 *     in one read — cheap enough to run every second, so "who grew" is known when a burst is detected.
 *   alloc_sample (tp_btf/mm_page_alloc): page allocations sampled by bytes — each CPU counts down a
 *     randomised interval (mean sample_period bytes); an allocation that crosses it is recorded with its
 *     kernel and user stacks and weighted sample_period per crossing, so the flame graph is in bytes and the
 *     cost stays one counter update per allocation between samples. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "taskinfo.h"
#include "memalloc.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 sample_period = 1 << 20;
const volatile __u32 page_shift = 12;

/* kernels before 6.2 keep RSS counters as atomics in struct mm_rss_stat */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));
struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));
/* 6.2+: one percpu_counter per kind */
struct percpu_counter___x {
	__s64 count;
} __attribute__((preserve_access_index));
struct mm_struct___62 {
	struct percpu_counter___x rss_stat[4];
} __attribute__((preserve_access_index));

static __always_inline __s64 rss_counter(struct mm_struct *mm, int i)
{
	__s64 v = 0;
	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		struct mm_struct___pre62 *old = (void *)mm;
		bpf_core_read(&v, sizeof(v), &old->rss_stat.count[i].counter);
	} else {
		/* the approximate value, as /proc/PID/status shows it (percpu_counter_read_positive) */
		/* the element size is the kernel's percpu_counter, not this local stand-in's 8 bytes */
		struct mm_struct___62 *cur = (void *)mm;
		__u64 off = bpf_core_field_offset(cur->rss_stat) +
			    (__u64)i * bpf_core_type_size(struct percpu_counter___x) +
			    bpf_core_field_offset(struct percpu_counter___x, count);
		bpf_core_read(&v, sizeof(v), (void *)mm + off);
	}
	return v < 0 ? 0 : v;
}

SEC("iter/task")
int rss_sweep(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t)
		return 0;
	if (t->pid != t->tgid)
		return 0;
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	if (!mm || (t->flags & PF_KTHREAD))
		return 0;
	struct memrss_rec r = {};
	r.tgid = t->tgid;
	r.start_time = BPF_CORE_READ(t, start_time);
	r.cg_v1 = task_css_cgroup_id(t, bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id));
	r.cg_dfl = task_dfl_cgroup_id(t);
	r.file = rss_counter(mm, 0);  /* MM_FILEPAGES */
	r.anon = rss_counter(mm, 1);  /* MM_ANONPAGES */
	r.swap = rss_counter(mm, 2);  /* MM_SWAPENTS */
	r.shmem = rss_counter(mm, 3); /* MM_SHMEMPAGES */
	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), t->comm);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MEMALLOC_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct alloc_key);
	__type(value, struct alloc_val);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct alloc_cpu);
} cpu_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct alloc_stats);
} stats SEC(".maps");

/* uniform in [period/2, 3·period/2): mean sample_period, and no phase lock with periodic allocators */
static __always_inline __u64 next_interval(void)
{
	__u64 p = sample_period;
	return p / 2 + (p > 1 ? bpf_get_prandom_u32() % p : 0);
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(alloc_sample, struct page *page, unsigned int order)
{
	if (!page)
		return 0;
	__u32 zero = 0;
	struct alloc_stats *st = bpf_map_lookup_elem(&stats, &zero);
	struct alloc_cpu *c = bpf_map_lookup_elem(&cpu_state, &zero);
	if (!st || !c)
		return 0;
	__u64 bytes = (1ULL << page_shift) << (order & 31);
	st->calls++;
	st->bytes += bytes;
	if (!c->init) {
		c->countdown = next_interval();
		c->init = 1;
	}
	if (bytes < c->countdown) {
		c->countdown -= bytes;
		return 0;
	}
	__u64 over = bytes - c->countdown;
	__u64 n = 1 + over / sample_period;
	__u64 rem = over - (n - 1) * sample_period;
	__u64 next = next_interval();
	c->countdown = next > rem ? next - rem : 1;

	st->samples++;
	/* a plain address, read through BPF_CORE_READ: bpf_get_current_task_btf() is 5.11+ */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct alloc_key key = {};
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.kstack_id = bpf_get_stackid(ctx, &stacks, 0);
	key.ustack_id = (BPF_CORE_READ(task, flags) & PF_KTHREAD) ? -1 : bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (key.kstack_id < 0 || (key.ustack_id < 0 && key.ustack_id != -1 && key.ustack_id != -EFAULT))
		st->lost_stacks++;
	key.cg_v1 = task_css_cgroup_id(task, bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id));
	key.cg_dfl = task_dfl_cgroup_id(task);
	bpf_get_current_comm(key.comm, sizeof(key.comm));

	struct alloc_val *v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		struct alloc_val z = {};
		bpf_map_update_elem(&counts, &key, &z, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, &key);
		if (!v) {
			st->lost_counts++;
			return 0;
		}
	}
	__sync_fetch_and_add(&v->bytes, n * sample_period);
	__sync_fetch_and_add(&v->samples, 1);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/* On-CPU sampler: a perf_event program that counts samples per (pid, kernel stack, user stack) in the
 * kernel. Two generations of maps let user space drain one while the other fills (continuous mode). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "common.h"
#include "profile.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load. */
const volatile __u32 filter_tgid = 0;       /* 0: all processes */
const volatile __u64 filter_cgroup_id = 0;  /* 0: all cgroups; else kernfs id of a cgroup directory */
const volatile __u32 cgroup_mode = CGROUP_MODE_UNIFIED;
const volatile bool include_idle = false;
const volatile bool kernel_only = false;

/* Flipped by user space (through the mmaped .bss) to switch generations. */
__u32 generation = 0;

#define STACK_ENTRIES 32768
#define COUNT_ENTRIES 32768

struct stack_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STACK_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory follows the distinct stacks seen, not the maximum */
	__type(key, __u64);
	__type(value, struct profile_stack);
};
struct count_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, COUNT_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct profile_key);
	__type(value, __u64);
};

struct stack_map stacks0 SEC(".maps");
struct stack_map stacks1 SEC(".maps");
struct count_map counts0 SEC(".maps");
struct count_map counts1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profile_stats);
} stats SEC(".maps");

/* Scratch space for one stack (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profile_stack);
} scratch SEC(".maps");

static __always_inline struct cgroup *task_cgroup(struct task_struct *task)
{
	if (cgroup_mode == CGROUP_MODE_V1_CPU) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
		struct css_set *cgroups = BPF_CORE_READ(task, cgroups);
		struct cgroup_subsys_state *css = NULL;
		bpf_core_read(&css, sizeof(css), &cgroups->subsys[id]);
		return css ? BPF_CORE_READ(css, cgroup) : NULL;
	}
	return BPF_CORE_READ(task, cgroups, dfl_cgrp);
}

static __always_inline __u64 cgroup_kn_id(struct cgroup *cg)
{
	return cg ? BPF_CORE_READ(cg, kn, id) : 0;
}

/* True when cg is the filter cgroup or one of its descendants (walks at most 32 levels up). */
static __always_inline bool under_filter(struct cgroup *cg)
{
	for (int i = 0; i < 32 && cg; i++) {
		if (cgroup_kn_id(cg) == filter_cgroup_id)
			return true;
		struct cgroup_subsys_state *parent = BPF_CORE_READ(cg, self.parent);
		cg = parent ? BPF_CORE_READ(parent, cgroup) : NULL;
	}
	return false;
}

/* Read one stack, store it under its FNV-1a hash, return the hash (or STACK_NONE / STACK_LOST). */
static __always_inline __u64 store_stack(void *ctx, void *stacks, __u64 flags)
{
	__u32 zero = 0;
	struct profile_stack *buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return STACK_LOST;
	/* Straight-line code (unrolled, no branches in the loops) keeps verification cheap: frames past
	 * the end are zero, and hashing all slots gives the same hash for the same stack. */
#pragma unroll
	for (int i = 0; i < PROFILE_MAX_DEPTH; i++)
		buf->ips[i] = 0;
	long n = bpf_get_stack(ctx, buf->ips, sizeof(buf->ips), flags);
	if (n == -EFAULT || n == 0)
		return STACK_NONE;
	if (n < 0)
		return STACK_LOST;
	__u64 h = 0xcbf29ce484222325ULL;
#pragma unroll
	for (int i = 0; i < PROFILE_MAX_DEPTH; i++) {
		h ^= buf->ips[i];
		h *= 0x100000001b3ULL;
	}
	if (h <= STACK_LOST)
		h += 2;
	if (bpf_map_update_elem(stacks, &h, buf, BPF_NOEXIST) && !bpf_map_lookup_elem(stacks, &h))
		return STACK_LOST; /* map full */
	return h;
}

static __always_inline void count(void *ctx, void *stacks, void *counts, struct profile_key *key,
				  struct profile_stats *st)
{
	key->kstack = store_stack(ctx, stacks, 0);
	key->ustack = kernel_only ? STACK_NONE : store_stack(ctx, stacks, BPF_F_USER_STACK);
	if (st && (key->kstack == STACK_LOST || key->ustack == STACK_LOST))
		st->lost_stacks++;

	__u64 *val = bpf_map_lookup_elem(counts, key);
	if (val) {
		__sync_fetch_and_add(val, 1);
		return;
	}
	__u64 one = 1;
	if (bpf_map_update_elem(counts, key, &one, BPF_NOEXIST) == 0)
		return;
	val = bpf_map_lookup_elem(counts, key); /* raced with another CPU inserting the same key */
	if (val)
		__sync_fetch_and_add(val, 1);
	else if (st)
		st->lost_counts++;
}

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0;
	struct profile_stats *st = bpf_map_lookup_elem(&stats, &zero);
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;

	if ((tid == 0 && !include_idle) || (filter_tgid && tgid != filter_tgid)) {
		if (st)
			st->filtered++;
		return 0;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct cgroup *cg = task_cgroup(task);
	if (filter_cgroup_id && !under_filter(cg)) {
		if (st)
			st->filtered++;
		return 0;
	}
	if (st)
		st->samples++;

	struct profile_key key = {};
	key.pid = tgid;
	key.cpu = bpf_get_smp_processor_id();
	key.cgroup_id = cgroup_kn_id(cg);
	bpf_get_current_comm(&key.comm, sizeof(key.comm));

	if (generation & 1)
		count(ctx, &stacks1, &counts1, &key, st);
	else
		count(ctx, &stacks0, &counts0, &key, st);
	return 0;
}

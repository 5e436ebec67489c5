/* Task helpers shared by dstate.bpf.c, offcpu.bpf.c and memalloc.bpf.c: the scheduler state (CO-RE over
 * the task_struct.state → __state rename of 5.14), which states count toward the load average, and the
 * cgroup a task is in — in the cgroup v1 hierarchy of a given controller and in the unified (v2) one. */
#ifndef AUTOTRACING_TASKINFO_H
#define AUTOTRACING_TASKINFO_H

#include "common.h"

#define __TASK_STOPPED 0x0004
#define __TASK_TRACED 0x0008
#define TASK_PARKED 0x0040
#define TASK_DEAD 0x0080
#define TASK_WAKEKILL 0x0100
#define TASK_FROZEN 0x8000
#define PF_KTHREAD 0x00200000

/* Kernels before 5.14 call the field `state` (a long); flavours for both, so this compiles against
 * any kernel's vmlinux.h. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));
struct task_struct___514 {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	struct task_struct___514 *cur = (void *)t;
	if (bpf_core_field_exists(cur->__state))
		return BPF_CORE_READ(cur, __state);
	struct task_struct___pre514 *old = (void *)t;
	return (__u32)BPF_CORE_READ(old, state);
}

/* What the kernel's task_contributes_to_load() says: uninterruptible, not TASK_NOLOAD (TASK_IDLE
 * kthreads), not frozen. */
static __always_inline bool state_counts_as_d(__u32 state)
{
	return (state & TASK_UNINTERRUPTIBLE) && !(state & TASK_NOLOAD) && !(state & TASK_FROZEN);
}

/* Kernfs id (= directory inode number) of the task's cgroup in the v1 hierarchy that carries the
 * subsystem `subsys_id`. Where that controller lives on the unified hierarchy (pure v2 hosts) this is
 * the unified cgroup. 0 when unknown. */
static __always_inline __u64 task_css_cgroup_id(struct task_struct *t, int subsys_id)
{
	struct css_set *cgroups = BPF_CORE_READ(t, cgroups);
	struct cgroup_subsys_state *css = NULL;
	if (!cgroups)
		return 0;
	bpf_core_read(&css, sizeof(css), &cgroups->subsys[subsys_id]);
	if (!css)
		return 0;
	return BPF_CORE_READ(css, cgroup, kn, id);
}

/* The task's cgroup on the unified (v2) hierarchy; on a v1-only host the dummy root (id 1). */
static __always_inline __u64 task_dfl_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* How the optional cgroup filter of a program is resolved (same values as profile.h). */
#ifndef CGROUP_MODE_UNIFIED
#define CGROUP_MODE_UNIFIED 1 /* cgroup v2 (default hierarchy) */
#define CGROUP_MODE_V1_CPU 2  /* cgroup v1, the hierarchy of the cpu controller */
#define CGROUP_MODE_V1_MEMORY 3 /* cgroup v1, the hierarchy of the memory controller */
#endif

static __always_inline struct cgroup *task_cgroup_in(struct task_struct *t, __u32 mode)
{
	if (mode == CGROUP_MODE_V1_CPU || mode == CGROUP_MODE_V1_MEMORY) {
		int id = mode == CGROUP_MODE_V1_CPU ? bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id)
						    : bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct css_set *cgroups = BPF_CORE_READ(t, cgroups);
		struct cgroup_subsys_state *css = NULL;
		if (!cgroups)
			return NULL;
		bpf_core_read(&css, sizeof(css), &cgroups->subsys[id]);
		return css ? BPF_CORE_READ(css, cgroup) : NULL;
	}
	return BPF_CORE_READ(t, cgroups, dfl_cgrp);
}

/* True when cg is the cgroup with kernfs id `id` or one of its descendants (at most 32 levels up). */
static __always_inline bool cgroup_under(struct cgroup *cg, __u64 id)
{
	for (int i = 0; i < 32 && cg; i++) {
		if (BPF_CORE_READ(cg, kn, id) == id)
			return true;
		struct cgroup_subsys_state *parent = BPF_CORE_READ(cg, self.parent);
		cg = parent ? BPF_CORE_READ(parent, cgroup) : NULL;
	}
	return false;
}

#endif

/* Shared between profile.bpf.c and user space (agent/src/tracers/bpf/profilerLayout.ts mirrors it). */
#ifndef AUTOTRACING_PROFILE_H
#define AUTOTRACING_PROFILE_H

#define PROFILE_MAX_DEPTH 127
#define PROFILE_COMM_LEN 16

/* How the optional cgroup filter and the recorded cgroup id are resolved. */
#define CGROUP_MODE_UNIFIED 1 /* cgroup v2 (default hierarchy) */
#define CGROUP_MODE_V1_CPU 2  /* cgroup v1, the hierarchy the cpu controller is bound to */

struct profile_key {
	__u32 pid;       /* tgid */
	__s32 kstack_id; /* <0: no kernel stack (user mode) or lost */
	__s32 ustack_id; /* <0: kernel thread, kernel-only mode, or lost */
	__u32 cpu;       /* CPU of the first sample of this key in the window (informative) */
	__u64 cgroup_id; /* kernfs id of the task's cgroup in the configured hierarchy */
	char comm[PROFILE_COMM_LEN];
};

struct profile_stats {
	__u64 samples;       /* samples that passed the filters */
	__u64 filtered;      /* samples rejected by the pid/cgroup/idle filters */
	__u64 lost_stacks;   /* stack map full or bucket collision */
	__u64 lost_counts;   /* counts map full */
};

#endif

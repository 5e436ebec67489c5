/* Shared between profile.bpf.c and user space (agent/src/tracers/bpf/profilerLayout.ts mirrors it). */
#ifndef AUTOTRACING_PROFILE_H
#define AUTOTRACING_PROFILE_H

#define PROFILE_MAX_DEPTH 127
#define PROFILE_COMM_LEN 16

/* How the optional cgroup filter and the recorded cgroup id are resolved. */
#define CGROUP_MODE_UNIFIED 1 /* cgroup v2 (default hierarchy) */
#define CGROUP_MODE_V1_CPU 2  /* cgroup v1, the hierarchy the cpu controller is bound to */

/* Stacks are stored under a 64-bit hash of their frames (bpf_get_stack + FNV-1a in the program)
 * instead of a STACK_TRACE map: a stack-trace map drops a stack whenever its bucket is taken by
 * another one (a few percent of samples at 16k buckets), and preallocates every bucket. */
#define STACK_NONE 0ULL /* no stack: user-mode sample (kernel stack) or kernel thread (user stack) */
#define STACK_LOST 1ULL /* the stack could not be read or stored */

struct profile_key {
	__u32 pid;       /* tgid */
	__u32 cpu;       /* CPU of the first sample of this key in the window (informative) */
	__u64 kstack;    /* hash of the kernel stack, or STACK_NONE / STACK_LOST */
	__u64 ustack;    /* hash of the user stack, or STACK_NONE / STACK_LOST */
	__u64 cgroup_id; /* kernfs id of the task's cgroup in the configured hierarchy */
	char comm[PROFILE_COMM_LEN];
};

struct profile_stack {
	__u64 ips[PROFILE_MAX_DEPTH]; /* innermost first, zero-padded */
};

struct profile_stats {
	__u64 samples;       /* samples that passed the filters */
	__u64 filtered;      /* samples rejected by the pid/cgroup/idle filters */
	__u64 lost_stacks;   /* stack map full or bucket collision */
	__u64 lost_counts;   /* counts map full */
};

#endif

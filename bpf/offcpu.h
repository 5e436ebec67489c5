/* Records of offcpu.bpf.c. Mirrored by agent/src/bpf/offcpu.ts (offsets written there): change both. */
#ifndef AUTOTRACING_OFFCPU_H
#define AUTOTRACING_OFFCPU_H

#define OFFCPU_MAX_DEPTH 127
#define OFFCPU_SEED_DEPTH 64
#define OFFCPU_COMM_LEN 16

/* a task that left the CPU in D state (or was found in D state when the window opened: seeded) */
struct offcpu_start {
	__u64 ts;          /* bpf_ktime_get_ns() when it left the CPU, or when the window opened (seeded) */
	__u32 tgid;
	__s32 kstack_id;   /* in `stacks`; -1 for seeded tasks (their stack is in `seed_stacks`) */
	__s32 ustack_id;   /* in `stacks`; <0: none (kernel thread, seeded, or lost) */
	__u32 seeded;
	__u64 cg_v1;
	__u64 cg_dfl;
	char comm[OFFCPU_COMM_LEN];
};

/* time blocked in D state is summed per key */
struct offcpu_key {
	__u32 tgid;
	__u32 seed_tid; /* seeded tasks: the tid whose `seed_stacks` entry holds the kernel stack; else 0 */
	__s32 kstack_id;
	__s32 ustack_id;
	__u64 cg_v1;
	__u64 cg_dfl;
	char comm[OFFCPU_COMM_LEN];
};

struct offcpu_val {
	__u64 ns;
	__u64 count; /* blocked periods */
};

struct offcpu_seed_stack {
	__u64 ip[OFFCPU_SEED_DEPTH];
};

struct offcpu_stats {
	__u64 blocks;      /* switch-outs in D state recorded */
	__u64 ends_wakeup; /* ended by sched_wakeup */
	__u64 ends_switch; /* ended by the next switch-in (wakeup not seen) */
	__u64 filtered;    /* switch-outs in D state outside the cgroup filter */
	__u64 lost_starts; /* `start` map full */
	__u64 lost_counts; /* `counts` map full */
	__u64 lost_stacks; /* stack map full or collision */
	__u64 seeded;      /* tasks already in D state when the window opened */
};

#endif

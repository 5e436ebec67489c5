/* Records of dstate.bpf.c. Mirrored by agent/src/bpf/dstate.ts (offsets written there): change both. */
#ifndef AUTOTRACING_DSTATE_H
#define AUTOTRACING_DSTATE_H

#define DSTATE_MAX_DEPTH 64
#define DSTATE_COMM_LEN 16

/* counts map key: the task's cgroup in the cpu controller's v1 hierarchy and in the unified one */
struct dstate_key {
	__u64 cg_v1;
	__u64 cg_dfl;
};

/* counts map value: threads by state, one sweep */
struct dstate_counts {
	__u32 total;
	__u32 running;         /* TASK_RUNNING: on a CPU or waiting for one */
	__u32 uninterruptible; /* D, counted as the kernel's load average counts it (not TASK_IDLE, not frozen) */
	__u32 iowait;          /* of those, waiting in io_schedule (in_iowait) */
	__u32 sleeping;        /* S, and idle kernel threads (I) */
	__u32 stopped;         /* T, t */
};

/* one per D task from the `dstate_tasks` iterator (fixed size, 64 + 8 * DSTATE_MAX_DEPTH bytes + header) */
struct dstate_task {
	__u32 tgid;
	__u32 tid;
	__u64 cg_v1;
	__u64 cg_dfl;
	__u32 state;  /* raw __state */
	__u32 flags;  /* task->flags (PF_KTHREAD ...) */
	__u64 now_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) at the record */
	/* clocks to place the moment the task left the CPU on CLOCK_MONOTONIC (see agent/src/bpf/dstate.ts):
	 * se.exec_start is the task's rq clock_task when it was dequeued; its rq's clock - clock_task is the
	 * irq/steal offset between the two clocks; this CPU's rq clock read against now_ns anchors rq clock
	 * to CLOCK_MONOTONIC. */
	__u64 exec_start;
	__u64 last_arrival; /* sched_info.last_arrival: rq clock when it last got a CPU (0 without SCHED_INFO) */
	__u64 task_rq_clock;
	__u64 task_rq_clock_task;
	__u64 this_rq_clock;
	__u64 start_time; /* task->start_time, ns since boot: with tid, identifies the task */
	__u32 cpu;
	__u32 in_iowait;
	__s32 stack_bytes; /* bpf_get_task_stack result: bytes written, or -errno */
	char comm[DSTATE_COMM_LEN];
	__u32 pad;
	__u64 stack[DSTATE_MAX_DEPTH]; /* kernel return addresses, innermost first */
};

#endif

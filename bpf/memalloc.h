/* Records of memalloc.bpf.c. Mirrored by agent/src/bpf/memalloc.ts (offsets written there): change both. */
#ifndef AUTOTRACING_MEMALLOC_H
#define AUTOTRACING_MEMALLOC_H

#define MEMALLOC_MAX_DEPTH 127
#define MEMALLOC_COMM_LEN 16

/* one per process (thread-group leader with an mm) from the `rss_sweep` iterator: 80 bytes */
struct memrss_rec {
	__u32 tgid;
	__u32 pad;
	__u64 start_time; /* ns since boot: with tgid, the process's identity */
	__u64 cg_v1;      /* cgroup in the memory controller's v1 hierarchy (the unified one where memory lives there) */
	__u64 cg_dfl;     /* cgroup in the unified hierarchy */
	__s64 file;       /* resident pages by kind, as /proc/PID/status counts them (RssFile, RssAnon, RssShmem) */
	__s64 anon;
	__s64 shmem;
	__s64 swap;       /* swap entries */
	char comm[MEMALLOC_COMM_LEN];
};

/* sampled page allocations are summed per key */
struct alloc_key {
	__u32 tgid;
	__s32 kstack_id;
	__s32 ustack_id;
	__u32 pad;
	__u64 cg_v1;
	__u64 cg_dfl;
	char comm[MEMALLOC_COMM_LEN];
};

struct alloc_val {
	__u64 bytes;   /* sampled weight: sample_period per crossing */
	__u64 samples;
};

struct alloc_cpu {
	__u64 countdown; /* bytes until the next sample on this CPU */
	__u64 init;
};

struct alloc_stats {
	__u64 calls;       /* mm_page_alloc events (successful allocations) */
	__u64 bytes;       /* bytes they allocated, exactly */
	__u64 samples;
	__u64 lost_stacks;
	__u64 lost_counts;
};

#endif

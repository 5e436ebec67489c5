/* Shared between blockio.bpf.c and user space (agent/src/bpf/blockio.ts mirrors every layout here;
 * its unit test checks the sizes). All integers little-endian, naturally aligned. */
#ifndef AUTOTRACING_BLOCKIO_H
#define AUTOTRACING_BLOCKIO_H

#define IO_COMM_LEN 16

/* Latency histogram: bucket 0 holds [0, 1) us; bucket 1 + p*4 + s holds
 * [2^p * (1 + s/4), 2^p * (1 + (s+1)/4)) us for p = 0..IO_HIST_POWERS-1 (quarter octaves);
 * the last bucket also takes everything at or above 2^IO_HIST_POWERS us (~268 s). */
#define IO_HIST_POWERS 28
#define IO_HIST_SUB 4
#define IO_HIST_BUCKETS (1 + IO_HIST_POWERS * IO_HIST_SUB)

/* io_key.flags */
#define IOF_WRITE (1u << 0)      /* write (else read) */
#define IOF_DIRECT (1u << 1)     /* file IO that bypassed the page cache (O_DIRECT) */
#define IOF_WRITEBACK (1u << 2)  /* a flush of dirty page cache, whoever submitted it */
#define IOF_META (1u << 3)       /* filesystem metadata/journal or buffered IO on a block device node */
#define IOF_SWAP (1u << 4)       /* anonymous memory to or from swap */
#define IOF_DIRTIER (1u << 5)    /* owner = the task that dirtied the file during the window */
#define IOF_BLKCG (1u << 6)      /* owner = the cgroup the kernel charged the writeback to (blkcg) */
#define IOF_KTHREAD (1u << 7)    /* submitted by a kernel thread (flusher, kworker, jbd2, loop …) */
#define IOF_FS (1u << 8)         /* a filesystem-level record (page-cache read, page dirtied), not a block request */
#define IOF_NOFILE (1u << 9)     /* direct IO whose file could not be found (raw device or no iomap) */
#define IOF_READAHEAD (1u << 10) /* REQ_RAHEAD */
#define IOF_SYNC (1u << 11)      /* REQ_SYNC */

/* What a process did to which file: the key of the aggregation map. */
struct io_key {
	__u64 ino;         /* inode number (0: no file) */
	__u64 cg;          /* owner's cgroup id in the unified hierarchy */
	__u64 cg_v1;       /* owner's cgroup id in the v1 hierarchy of cg_v1_subsys (0: none) */
	__u64 blkcg;       /* cgroup id of the bio's blkcg (io/blkio hierarchy; 0: none) */
	__u32 tgid;        /* owner process (0: unknown) */
	__u32 submitter;   /* tgid that submitted the request, when it is not the owner */
	__u32 dev;         /* block device of the request (partition), kernel dev_t (major << 20 | minor) */
	__u32 sb_dev;      /* s_dev of the file's filesystem (what stat(2) calls st_dev) */
	__u32 flags;       /* IOF_* */
	__u32 _pad;
	char comm[IO_COMM_LEN]; /* owner's comm */
};

struct io_val {
	__u64 ios;     /* requests completed (block) or calls / pages (fs) */
	__u64 bytes;
	__u64 q2c_ns;  /* sum of queue+device time (block) */
	__u64 d2c_ns;  /* sum of device time, over d2c_ios requests */
	__u64 d2c_ios;
	__u64 q2c_max;
	__u64 d2c_max;
};

/* Per device (whole disk) and direction: kept per CPU. */
struct hist_key {
	__u32 disk; /* kernel dev_t of the whole disk */
	__u32 op;   /* 0 read, 1 write, 2 other (flush, discard, …: counted, not timed) */
};

struct hist_val {
	__u64 ios;
	__u64 bytes;
	__u64 q2c_ns;
	__u64 d2c_ns;
	__u64 d2c_ios;
	__u64 q2c_max;
	__u64 d2c_max;
	__u64 no_start; /* completions without a start timestamp */
	__u64 q2c[IO_HIST_BUCKETS];
	__u64 d2c[IO_HIST_BUCKETS];
};

/* Ring buffer records. */
#define REC_NAME 1
#define REC_STALL 2

#define NAME_BUF 1536
#define NAME_COMP 256
#define NAME_MAX_DEPTH 32
#define NAME_TRUNCATED 1 /* deeper than NAME_MAX_DEPTH or longer than NAME_BUF */
#define NAME_DELETED 2   /* the dentry is unhashed: the file was unlinked */
#define NAME_NO_DENTRY 4 /* the inode has no dentry left in the cache */

/* A file's name: components from the file up to (not including) its filesystem's root,
 * each NUL-terminated; `len` bytes of buf are used. */
struct name_rec {
	__u32 type;
	__u32 sb_dev;
	__u64 ino;
	__u16 depth;
	__u16 flags;
	__u32 len;
	char buf[NAME_BUF];
};
#define NAME_REC_HEADER 24

#define STALL_DEPTH 40

/* A task that waited in io_schedule longer than the stall threshold (REC_STALL from the ring buffer
 * at the moment it ran again; the same layout from the end-of-window iterator for tasks still waiting). */
struct stall_rec {
	__u32 type;
	__u32 tid;
	__u32 tgid;
	__u32 nframes;
	__u64 wait_ns;
	__u64 cg;
	char comm[IO_COMM_LEN];
	__u64 stack[STALL_DEPTH];
};

/* Per-CPU counters (index into `stats`). */
enum blockio_stat {
	ST_RQ_DONE = 0,     /* requests completed (final completion) */
	ST_RQ_LINKED,       /* … of which carried a submission record */
	ST_LINK_FULL,       /* submission record dropped: link map full */
	ST_AGG_FULL,        /* aggregation map full */
	ST_NAMES,           /* names emitted */
	ST_NAME_DROP,       /* names lost (ring buffer full) */
	ST_STALLS,          /* stalls emitted */
	ST_STALL_DROP,      /* stalls lost (ring buffer full) */
	ST_IOWAIT_WAITS,    /* io_schedule waits that ended in the window */
	ST_IOWAIT_NS,       /* their total time */
	ST_NO_ISSUE,        /* completions without an issue timestamp (no d2c) */
	ST_FS_EVENTS,       /* filemap / dirty events */
	ST_PARTIAL,         /* partial completions */
	ST_HIST_FULL,       /* histogram map full */
	ST_DIO,             /* direct IO requests matched to their file */
	ST_LINK_MISS,       /* read/write completions with no submission record (began before the window) */
	ST_MAX
};

#endif

// SPDX-License-Identifier: GPL-2.0
/* Block IO capture for the iotracing tracer: every request's queue and device time, per-CPU latency
 * histograms per disk, and attribution of each request to the process, cgroup and file it was
 * submitted for. Tracepoints (BTF-typed), fentry or kprobes where a kernel lacks a tracepoint, and one
 * task iterator; nothing filesystem-specific. One source for kernels 5.10 … 7.x (see compat.h):
 * user space picks each hook's variant from the kernel's BTF (agent/src/bpf/blockio.ts).
 *
 *  submission, in the submitter's context: block_io_start (6.5+, request + its first bio), or before
 *  6.5 block_getrq (the bio that starts a new request) linked to its request at block_rq_issue
 *      → who and which file: the first page's mapping → inode for page-cache IO; for iomap direct IO
 *        the bio's own iomap_dio (bi_private) → iocb → file, else the file of the iomap DIO the task
 *        began last (iomap_dio_rw_begin / __iomap_dio_rw); for writeback the task that dirtied the inode
 *        during the window (writeback_dirty_folio / _page), else the bio's blkcg (cgroup writeback),
 *        else the flusher itself, labelled as such. One small record per in-flight request (`links`):
 *        the only per-request map, there because the completion runs in no context of the submitter.
 *  block_rq_complete
 *      → q2c = now - rq->start_time_ns and d2c = now - rq->io_start_time_ns: the request's own
 *        timestamps, no start-time map; per-CPU log2 histograms per disk; the request's record is
 *        folded into the per-CPU (process, file) aggregate. Queues that do not stamp
 *        io_start_time_ns (no QUEUE_FLAG_STATS) get their issue time from block_rq_issue.
 *  page-cache reads / faults (mm_filemap_* tracepoints, or fentry/kprobe on the functions they sit in)
 *  and pages dirtied → filesystem-level bytes per process and file (what it asked of the page cache).
 *  sched_switch → tasks that waited in io_schedule (in_iowait) longer than the stall threshold,
 *      with their kernel stack, sent when they run again; iter/task reports the ones still waiting.
 * File names are walked from the inode's dentry once per file and sent through the ring buffer;
 * user space adds the mount point. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "common.h"
#include "taskinfo.h"
#include "compat.h"
#include "blockio.h"

char LICENSE[] SEC("license") = "GPL";

#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define REQ_OP_MASK 0xff
#define MAPPING_ANON 0x1
#define MAPPING_FLAGS 0x3
#define MINORBITS 20

/* Set by user space before load. */
const volatile __u64 stall_ns = 100000000ULL;
const volatile __u32 page_shift = 12;
const volatile bool record_cg_v1 = false; /* also record the cgroup of the v1 cpu hierarchy (v1/hybrid hosts) */
const volatile bool track_dirtier = true;  /* charge writeback to the task that dirtied the inode */
const volatile bool track_stalls = true;
const volatile bool track_fs = true;
/* BPF_MAP_TYPE_TASK_STORAGE (5.11): per-task state freed with the task. Without it `tasks` is an LRU
 * hash keyed by thread id (user space switches the map's type before load). */
const volatile bool have_task_storage = false;
/* No block_io_start (before 6.5): submissions are recorded per bio at block_getrq and linked to their
 * request when it is issued. */
const volatile bool link_at_issue = false;

/* Kernel addresses of bio completion functions (from /proc/kallsyms; 0 unknown): a bio ending in
 * iomap_dio_bio_end_io is direct IO whose bi_private is the struct iomap_dio of the call, so its file
 * is read from the bio itself; bio_chain_endio marks a split-off part whose bi_private is the parent. */
const volatile __u64 iomap_dio_end_io = 0;
const volatile __u64 bio_chain_end_io = 0;

/* Bit of QUEUE_FLAG_STATS in request_queue.queue_flags (an anonymous enum CO-RE cannot name: user
 * space reads it from the kernel's BTF; -1 unknown). A queue with it set stamps io_start_time_ns. */
const volatile int queue_flag_stats = -1;

/* Without that bit: set by the completion program when a request came without io_start_time_ns; from
 * then on the issue program records issue times in the requests' links. */
__u32 need_issue_ts = 0;

static const struct hist_val zero_hist;

struct link_val {
	struct io_key key;
	__u64 inode;    /* kernel inode pointer, for the name walk */
	__u64 issue_ns; /* only when the queue does not stamp io_start_time_ns */
	__u64 start_ns; /* only when the request has no start_time_ns */
};

struct dirtier_val {
	__u32 tgid;
	__u32 _pad;
	__u64 cg;
	__u64 cg_v1;
	char comm[IO_COMM_LEN];
};

struct name_key {
	__u32 sb_dev;
	__u32 _pad;
	__u64 ino;
};

struct task_ctx {
	__u64 blocked_ns; /* in io_schedule since (0: not waiting) */
	__u64 dio_iocb;   /* iomap direct IO in progress */
	__u64 dio_inode;
	__u64 dio_ino;
	__u32 dio_sb_dev;
	__u32 _pad;
	__u64 dio_ns;
	__u64 rd_inode; /* last buffered read (filemap_get_pages), to count each read once */
	__u64 rd_last;
	__u64 rd_index;
};

static const struct task_ctx zero_task_ctx;

struct pending {
	struct io_key key;
	__u64 inode;
	__u64 bytes;
	__u64 ops;
	__u64 rd_last;  /* buffered read in progress: its last page index … */
	__u64 rd_index; /* … and the first page of its latest batch */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* struct request * */
	__type(value, struct link_val);
} links SEC(".maps");

/* Before block_io_start (6.5): the submission record of a bio that starts a request (block_getrq),
 * moved to `links` when its request is issued. LRU: a bio that never becomes a request (its request
 * failed to allocate, or it was merged) ages out instead of filling the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* struct bio * */
	__type(value, struct link_val);
} bio_links SEC(".maps");

/* Per CPU: completions of one process's requests to one file land on every CPU; per-CPU values need
 * no atomics and no shared cache line. Allocated on first use of a key. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct io_key);
	__type(value, struct io_val);
} agg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, struct hist_key);
	__type(value, struct hist_val);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct inode * */
	__type(value, struct dirtier_val);
} dirtier SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct name_key);
	__type(value, __u8);
} names_seen SEC(".maps");

/* Task storage where the kernel has it; else (user space switches type, flags and size before load)
 * an LRU hash keyed by thread id. */
struct {
	__uint(type, AT_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending);
} fs_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct name_rec);
} name_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stall_rec);
} stall_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&stats, &idx);
	if (p)
		*p += v; /* per CPU: no atomics needed */
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

/* Quarter-octave bucket of a latency in nanoseconds (see blockio.h). */
static __always_inline __u32 hist_bucket(__u64 ns)
{
	__u64 us = ns / 1000;
	if (us == 0)
		return 0;
	__u32 p = log2_u64(us);
	if (p >= IO_HIST_POWERS)
		return IO_HIST_BUCKETS - 1;
	__u32 s = (__u32)(((us << 2) >> p) & 3);
	return 1 + p * IO_HIST_SUB + s;
}

static __always_inline void max_u64(__u64 *slot, __u64 v)
{
	if (v > *slot)
		*slot = v;
}

/* Per-task state: task storage, or the LRU hash by thread id (see `tasks`). `t` may be a BTF-typed
 * task (always, where task storage exists) or a plain address (5.10's current task). */
static __always_inline struct task_ctx *task_ctx_get(struct task_struct *t, bool create)
{
	if (have_task_storage)
		return bpf_task_storage_get(&tasks, t, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	__u32 tid = BPF_CORE_READ(t, pid);
	struct task_ctx *c = bpf_map_lookup_elem(&tasks, &tid);
	if (c || !create)
		return c;
	bpf_map_update_elem(&tasks, &tid, &zero_task_ctx, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tasks, &tid);
}

/* The task's cgroup ids: unified, and (record_cg_v1) in the v1 hierarchy of the cpu controller. */
static __always_inline void task_cgroups(struct task_struct *t, __u64 *cg, __u64 *cg_v1)
{
	*cg = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	*cg_v1 = 0;
	if (record_cg_v1) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
		if (id >= 0 && id < 16) /* CGROUP_SUBSYS_COUNT is below 16 everywhere */
			*cg_v1 = task_css_cgroup_id(t, id);
	}
}

static __always_inline void set_owner_current(struct io_key *k, struct task_struct *t)
{
	k->tgid = BPF_CORE_READ(t, tgid);
	task_cgroups(t, &k->cg, &k->cg_v1);
	bpf_get_current_comm(k->comm, sizeof(k->comm));
}

/* The folio a page belongs to (compound head). */
static __always_inline struct page *page_head(struct page *page)
{
	return (struct page *)compound_head_of(page);
}

static __always_inline bool flag_set(unsigned long flags, int bit)
{
	return bit >= 0 && bit < 64 && (flags & (1UL << bit));
}

/* Bytes of a folio (or of the compound page whose head `head` is). */
static __always_inline __u64 folio_bytes(void *head)
{
	__u64 size = 1ULL << page_shift;
	if (!flag_set(page_flags_word(head), bpf_core_enum_value(enum pageflags, PG_head)))
		return size;
	return size << folio_order_of(head);
}

static __always_inline __u32 inode_mode(struct inode *inode)
{
	return BPF_CORE_READ(inode, i_mode);
}

static __always_inline bool inode_is(struct inode *inode, __u32 type)
{
	return (inode_mode(inode) & S_IFMT) == type;
}

/* Send a file's name once per window: components from the file up to its filesystem root. */
static __noinline void emit_name(__u64 inode_ptr, __u32 sb_dev, __u64 ino)
{
	struct name_key nk = { .sb_dev = sb_dev, .ino = ino };
	__u8 one = 1;
	if (!inode_ptr || !ino || bpf_map_lookup_elem(&names_seen, &nk))
		return;
	if (bpf_map_update_elem(&names_seen, &nk, &one, BPF_NOEXIST))
		return; /* another CPU is on it, or the set is full */
	__u32 zero = 0;
	struct name_rec *r = bpf_map_lookup_elem(&name_scratch, &zero);
	if (!r)
		return;
	r->type = REC_NAME;
	r->sb_dev = sb_dev;
	r->ino = ino;
	r->depth = 0;
	r->flags = 0;
	r->len = 0;
	struct inode *inode = (struct inode *)inode_ptr;
	struct hlist_node *first = BPF_CORE_READ(inode, i_dentry.first);
	__u32 off = 0;
	if (!first) {
		r->flags = NAME_NO_DENTRY;
	} else {
		struct dentry *d = dentry_of_alias(first);
		if (!BPF_CORE_READ(d, d_hash.pprev) && BPF_CORE_READ(d, d_parent) != d)
			r->flags |= NAME_DELETED;
		int i;
		for (i = 0; i < NAME_MAX_DEPTH; i++) {
			struct dentry *parent = BPF_CORE_READ(d, d_parent);
			if (!parent || parent == d)
				break;
			if (off > NAME_BUF - NAME_COMP) {
				r->flags |= NAME_TRUNCATED;
				break;
			}
			const unsigned char *name = BPF_CORE_READ(d, d_name.name);
			long n = bpf_probe_read_kernel_str(&r->buf[off], NAME_COMP, name);
			if (n <= 0)
				break;
			off += n;
			r->depth++;
			d = parent;
		}
		if (i == NAME_MAX_DEPTH)
			r->flags |= NAME_TRUNCATED;
	}
	__u64 size = (__u64)off + NAME_REC_HEADER;
	asm volatile("" : "+r"(size)); /* keep the clamp below as a real comparison for the verifier */
	if (size > sizeof(struct name_rec))
		size = sizeof(struct name_rec);
	r->len = size - NAME_REC_HEADER;
	if (bpf_ringbuf_output(&events, r, size, 0))
		stat_add(ST_NAME_DROP, 1);
	else
		stat_add(ST_NAMES, 1);
}

static __always_inline struct io_val *agg_get(struct io_key *k, __u64 inode_ptr)
{
	struct io_val *v = bpf_map_lookup_elem(&agg, k);
	if (v)
		return v;
	struct io_val zero = {};
	if (bpf_map_update_elem(&agg, k, &zero, BPF_NOEXIST) && bpf_map_lookup_elem(&agg, k) == NULL) {
		stat_add(ST_AGG_FULL, 1);
		return NULL;
	}
	if (k->ino)
		emit_name(inode_ptr, k->sb_dev, k->ino);
	return bpf_map_lookup_elem(&agg, k);
}

/* Remember who dirtied this inode, for the writeback that follows. */
static __always_inline void note_dirtier(struct inode *host, struct task_struct *t, __u32 tgid)
{
	__u64 ip = (__u64)host;
	struct dirtier_val *d = bpf_map_lookup_elem(&dirtier, &ip);
	if (d && d->tgid == tgid)
		return;
	struct dirtier_val nd = { .tgid = tgid };
	task_cgroups(t, &nd.cg, &nd.cg_v1);
	bpf_get_current_comm(nd.comm, sizeof(nd.comm));
	bpf_map_update_elem(&dirtier, &ip, &nd, BPF_ANY);
}

/* ---- filesystem-level bytes: per-CPU write combining of consecutive events of one (task, file) ---- */

static __always_inline void pending_flush(struct pending *p)
{
	if (!p->ops)
		return;
	struct io_val *v = agg_get(&p->key, p->inode);
	if (v) {
		v->ios += p->ops;
		v->bytes += p->bytes;
	}
	p->ops = 0;
	p->bytes = 0;
	p->inode = 0;
}

static __always_inline void fs_event(struct inode *host, struct task_struct *t, __u64 bytes, __u32 flags)
{
	if (!host || !inode_is(host, S_IFREG))
		return;
	__u32 tgid = BPF_CORE_READ(t, tgid);
	__u32 zero = 0;
	struct pending *p = bpf_map_lookup_elem(&fs_pending, &zero);
	if (!p)
		return;
	stat_add(ST_FS_EVENTS, 1);
	if (p->ops && p->inode == (__u64)host && p->key.tgid == tgid && p->key.flags == flags) {
		p->ops++;
		p->bytes += bytes;
		return;
	}
	pending_flush(p);
	__builtin_memset(&p->key, 0, sizeof(p->key));
	p->key.flags = flags;
	p->key.ino = BPF_CORE_READ(host, i_ino);
	p->key.sb_dev = BPF_CORE_READ(host, i_sb, s_dev);
	set_owner_current(&p->key, t);
	p->inode = (__u64)host;
	p->ops = 1;
	p->bytes = bytes;
	emit_name(p->inode, p->key.sb_dev, p->key.ino);
	if ((flags & IOF_WRITE) && track_dirtier)
		note_dirtier(host, t, tgid);
}

/* A page or folio of `mapping` was dirtied by the current task. */
static __always_inline void on_dirty(void *head, struct address_space *mapping)
{
	if (!mapping)
		return;
	struct inode *host = BPF_CORE_READ(mapping, host);
	struct task_struct *t = current_task();
	if (track_fs) {
		fs_event(host, t, folio_bytes(head), IOF_FS | IOF_WRITE);
	} else if (track_dirtier) {
		if (host && inode_is(host, S_IFREG))
			note_dirtier(host, t, BPF_CORE_READ(t, tgid));
	}
}

/* 5.16+: folios. `void *`: struct folio is not in every kernel's vmlinux.h. */
SEC("?tp_btf/writeback_dirty_folio")
int BPF_PROG(dirty_folio, void *folio, struct address_space *mapping)
{
	on_dirty(folio, mapping);
	return 0;
}

/* before folios: one page at a time */
SEC("?tp_btf/writeback_dirty_page")
int BPF_PROG(dirty_page, struct page *page, struct address_space *mapping)
{
	on_dirty(page_head(page), mapping);
	return 0;
}

/* A buffered read of pages [index, last_index] of `mapping`. filemap_read reports each batch with the
 * range up to the end of the whole read: count a read once, when it starts (same task and file, same
 * end, higher index = the next batch). The per-CPU slot answers most batches; the task's own record
 * covers a migration to another CPU or other IO on this CPU in between. */
static __always_inline void on_read(struct address_space *mapping, __u64 index, __u64 last_index)
{
	if (!track_fs || !mapping || last_index < index)
		return;
	__u32 zero = 0;
	struct pending *p = bpf_map_lookup_elem(&fs_pending, &zero);
	if (!p)
		return;
	struct task_struct *t = current_task();
	struct inode *host = BPF_CORE_READ(mapping, host);
	__u32 tgid = BPF_CORE_READ(t, tgid);
	if (p->ops && p->inode == (__u64)host && p->key.tgid == tgid && p->key.flags == IOF_FS &&
	    p->rd_last == last_index && index > p->rd_index) {
		p->rd_index = index;
		return;
	}
	struct task_ctx *tc = task_ctx_get(t, true);
	if (tc) {
		if (tc->rd_inode == (__u64)host && tc->rd_last == last_index && index > tc->rd_index) {
			tc->rd_index = index;
			return;
		}
		tc->rd_inode = (__u64)host;
		tc->rd_last = last_index;
		tc->rd_index = index;
	}
	fs_event(host, t, (last_index - index + 1) << page_shift, IOF_FS);
	p->rd_last = last_index;
	p->rd_index = index;
}

SEC("?tp_btf/mm_filemap_get_pages")
int BPF_PROG(filemap_get_pages, struct address_space *mapping, unsigned long index, unsigned long last_index)
{
	on_read(mapping, index, last_index);
	return 0;
}

/* Kernels without the tracepoint: the function it sits in, filemap_get_pages(iocb, count, …) (6.3+)
 * or filemap_get_pages(iocb, iter, …) (5.12–6.2), which reads [ki_pos, ki_pos + count) of the file;
 * before that the read's entry point, generic_file_buffered_read(iocb, iter, …), once per read. */
static __always_inline void on_read_iocb(struct kiocb *iocb, __u64 count)
{
	if (!count)
		return;
	struct address_space *mapping = BPF_CORE_READ(iocb, ki_filp, f_mapping);
	__u64 pos = BPF_CORE_READ(iocb, ki_pos);
	on_read(mapping, pos >> page_shift, (pos + count - 1) >> page_shift);
}

SEC("?fentry/filemap_get_pages")
int BPF_PROG(filemap_get_pages_fentry, struct kiocb *iocb, size_t count)
{
	on_read_iocb(iocb, count);
	return 0;
}

SEC("?kprobe/filemap_get_pages")
int BPF_KPROBE(filemap_get_pages_kprobe, struct kiocb *iocb, size_t count)
{
	on_read_iocb(iocb, count);
	return 0;
}

SEC("?fentry/filemap_get_pages")
int BPF_PROG(filemap_get_pages_iter_fentry, struct kiocb *iocb, struct iov_iter *iter)
{
	on_read_iocb(iocb, BPF_CORE_READ(iter, count));
	return 0;
}

SEC("?kprobe/filemap_get_pages")
int BPF_KPROBE(filemap_get_pages_iter_kprobe, struct kiocb *iocb, struct iov_iter *iter)
{
	on_read_iocb(iocb, BPF_CORE_READ(iter, count));
	return 0;
}

SEC("?fentry/generic_file_buffered_read")
int BPF_PROG(buffered_read_fentry, struct kiocb *iocb, struct iov_iter *iter)
{
	on_read_iocb(iocb, BPF_CORE_READ(iter, count));
	return 0;
}

SEC("?kprobe/generic_file_buffered_read")
int BPF_KPROBE(buffered_read_kprobe, struct kiocb *iocb, struct iov_iter *iter)
{
	on_read_iocb(iocb, BPF_CORE_READ(iter, count));
	return 0;
}

static __always_inline void on_fault(struct address_space *mapping)
{
	if (!track_fs || !mapping)
		return;
	fs_event(BPF_CORE_READ(mapping, host), current_task(), 1ULL << page_shift, IOF_FS);
}

SEC("?tp_btf/mm_filemap_fault")
int BPF_PROG(filemap_fault, struct address_space *mapping, unsigned long index)
{
	on_fault(mapping);
	return 0;
}

/* Kernels without the tracepoint: filemap_fault(vmf), the page-cache fault handler itself. */
SEC("?fentry/filemap_fault")
int BPF_PROG(filemap_fault_fentry, struct vm_fault *vmf)
{
	on_fault(BPF_CORE_READ(vmf, vma, vm_file, f_mapping));
	return 0;
}

SEC("?kprobe/filemap_fault")
int BPF_KPROBE(filemap_fault_kprobe, struct vm_fault *vmf)
{
	on_fault(BPF_CORE_READ(vmf, vma, vm_file, f_mapping));
	return 0;
}

/* ---- direct IO: which file the task's iomap DIO is for ---- */

/* For direct IO whose bios do not end in iomap_dio_bio_end_io (a filesystem with its own bio set and
 * completion, e.g. btrfs): the file of the task's latest iomap DIO, trusted for STASH_NS. */
#define STASH_NS 2000000000ULL

static __always_inline void on_dio_begin(struct kiocb *iocb)
{
	struct task_ctx *tc = task_ctx_get(current_task(), true);
	if (!tc)
		return;
	struct inode *inode = BPF_CORE_READ(iocb, ki_filp, f_inode);
	tc->dio_iocb = (__u64)iocb;
	tc->dio_inode = (__u64)inode;
	tc->dio_ino = BPF_CORE_READ(inode, i_ino);
	tc->dio_sb_dev = BPF_CORE_READ(inode, i_sb, s_dev);
	tc->dio_ns = bpf_ktime_get_ns();
}

SEC("?tp_btf/iomap_dio_rw_begin")
int BPF_PROG(dio_begin, struct kiocb *iocb)
{
	on_dio_begin(iocb);
	return 0;
}

/* Kernels without the tracepoint (before 6.4): the function it sits in. */
SEC("?fentry/__iomap_dio_rw")
int BPF_PROG(dio_begin_fentry, struct kiocb *iocb)
{
	on_dio_begin(iocb);
	return 0;
}

SEC("?kprobe/__iomap_dio_rw")
int BPF_KPROBE(dio_begin_kprobe, struct kiocb *iocb)
{
	on_dio_begin(iocb);
	return 0;
}

/* ---- block requests ---- */

/* Who and which file a request is for, from its first bio, in the submitter's context. */
static __always_inline void classify(struct bio *bio, __u32 op, struct link_val *lv)
{
	struct task_struct *t = current_task();
	struct io_key *k = &lv->key;
	bool write = op == 1;
	if (write)
		k->flags |= IOF_WRITE;
	__u32 opf = bio->bi_opf;
	/* REQ_ flag bits move between kernels: their positions come from BTF */
	if (flag_set(opf, bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		k->flags |= IOF_SYNC;
	if (flag_set(opf, bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD)))
		k->flags |= IOF_READAHEAD;
	if (BPF_CORE_READ(t, flags) & PF_KTHREAD)
		k->flags |= IOF_KTHREAD;
	k->dev = bio_dev(bio);

	/* the first page of the bio says whose data it is
	 * (not bi_vcnt: a split or cloned bio shares its parent's vector and has bi_vcnt 0) */
	struct page *head = NULL;
	__u32 idx = bio->bi_iter.bi_idx;
	struct bio_vec *vec = bio->bi_io_vec;
	if (vec && bio->bi_iter.bi_size) {
		struct page *pg = NULL;
		bpf_core_read(&pg, sizeof(pg), &vec[idx & 0xffff].bv_page);
		if (pg)
			head = page_head(pg);
	}
	unsigned long mapping = 0;
	unsigned long pflags = 0;
	if (head) {
		/* read as a number (it may carry the anon/movable tag bits) */
		bpf_core_read(&mapping, sizeof(mapping), &head->mapping);
		pflags = page_flags_word(head);
	}

	struct inode *host = NULL;
	if (mapping && !(mapping & MAPPING_FLAGS))
		host = BPF_CORE_READ((struct address_space *)mapping, host);
	bool busy = host && flag_set(pflags, write ? bpf_core_enum_value(enum pageflags, PG_writeback)
						   : bpf_core_enum_value(enum pageflags, PG_locked));
	/* page-cache IO in flight (locked for reading, under writeback) needs no more; else is this bio
	 * iomap direct IO (its completion says so, and carries the file), or is the task inside one? */
	struct inode *dio_inode = NULL;
	if (!busy && iomap_dio_end_io) {
		unsigned long end_io = (unsigned long)bio->bi_end_io;
		void *priv = bio->bi_private;
		if (bio_chain_end_io && end_io == bio_chain_end_io) {
			struct bio *parent = priv;
			end_io = (unsigned long)BPF_CORE_READ(parent, bi_end_io);
			priv = BPF_CORE_READ(parent, bi_private);
		}
		if (end_io == iomap_dio_end_io)
			dio_inode = BPF_CORE_READ((struct iomap_dio *)priv, iocb, ki_filp, f_inode);
	}
	struct task_ctx *tc = busy || dio_inode ? NULL : task_ctx_get(t, false);
	bool in_dio = dio_inode || (tc && tc->dio_iocb && bpf_ktime_get_ns() - tc->dio_ns < STASH_NS);

	if (host && inode_is(host, S_IFBLK)) {
		/* block device page cache: filesystem metadata, journal, or buffered IO on /dev/X */
		k->flags |= IOF_META;
		if (write)
			k->flags |= IOF_WRITEBACK;
		set_owner_current(k, t);
		return;
	}
	if (host) {
		if (busy || !in_dio) {
			/* page-cache IO of this file: readahead/read by the reader, or writeback */
			k->ino = BPF_CORE_READ(host, i_ino);
			k->sb_dev = BPF_CORE_READ(host, i_sb, s_dev);
			lv->inode = (__u64)host;
			if (!write) {
				set_owner_current(k, t);
				return;
			}
			k->flags |= IOF_WRITEBACK;
			__u64 ip = (__u64)host;
			struct dirtier_val *d = track_dirtier ? bpf_map_lookup_elem(&dirtier, &ip) : NULL;
			__u32 me = BPF_CORE_READ(t, tgid);
			if (d) {
				k->tgid = d->tgid;
				k->cg = d->cg;
				k->cg_v1 = d->cg_v1;
				__builtin_memcpy(k->comm, d->comm, sizeof(k->comm));
				k->flags |= IOF_DIRTIER;
				if (d->tgid != me)
					k->submitter = me;
				return;
			}
			/* dirtied before the window: the kernel's own owner (cgroup writeback) if any */
			if (bpf_core_field_exists(bio->bi_blkg)) {
				struct blkcg_gq *blkg = bio->bi_blkg;
				struct cgroup_subsys_state *css = blkg ? &blkg->blkcg->css : NULL;
				if (css && css->parent) {
					k->blkcg = BPF_CORE_READ(css, cgroup, kn, id);
					k->flags |= IOF_BLKCG;
					k->submitter = me;
					return;
				}
			}
			set_owner_current(k, t);
			return;
		}
	}
	if ((mapping & MAPPING_ANON) && !in_dio &&
	    flag_set(pflags, bpf_core_enum_value(enum pageflags, PG_swapcache)) &&
	    flag_set(pflags, bpf_core_enum_value(enum pageflags, PG_swapbacked))) {
		k->flags |= IOF_SWAP;
		set_owner_current(k, t);
		return;
	}
	set_owner_current(k, t);
	if (dio_inode) {
		k->flags |= IOF_DIRECT;
		k->ino = BPF_CORE_READ(dio_inode, i_ino);
		k->sb_dev = BPF_CORE_READ(dio_inode, i_sb, s_dev);
		lv->inode = (__u64)dio_inode;
		stat_add(ST_DIO, 1);
		return;
	}
	if (in_dio && tc) {
		k->flags |= IOF_DIRECT;
		k->ino = tc->dio_ino;
		k->sb_dev = tc->dio_sb_dev;
		lv->inode = tc->dio_inode;
		stat_add(ST_DIO, 1);
		return;
	}
	if ((mapping & MAPPING_ANON) && !(k->flags & IOF_KTHREAD))
		k->flags |= IOF_DIRECT | IOF_NOFILE; /* user memory, no iomap DIO: raw device or other DIO */
	else
		k->flags |= IOF_META; /* kernel buffers outside the page cache (e.g. XFS metadata, logs) */
}

/* 6.5+: the request and its first bio, in the submitter's context. */
SEC("?tp_btf/block_io_start")
int BPF_PROG(io_start, struct request *rq)
{
	__u32 op = rq->cmd_flags & REQ_OP_MASK;
	if (op > 1)
		return 0;
	struct bio *bio = rq->bio;
	if (!bio)
		return 0;
	struct link_val lv = {};
	classify(bio, op, &lv);
	if (!rq->start_time_ns)
		lv.start_ns = bpf_ktime_get_ns();
	__u64 key = (__u64)rq;
	if (bpf_map_update_elem(&links, &key, &lv, BPF_ANY))
		stat_add(ST_LINK_FULL, 1);
	return 0;
}

/* Before 6.5: a bio about to get a request of its own (it becomes that request's first bio), in the
 * submitter's context; the request is known from block_rq_issue on. */
static __always_inline void on_getrq(struct bio *bio)
{
	if (!bio)
		return;
	__u32 op = bio->bi_opf & REQ_OP_MASK;
	if (op > 1)
		return;
	struct link_val lv = {};
	classify(bio, op, &lv);
	lv.start_ns = bpf_ktime_get_ns();
	__u64 key = (__u64)bio;
	bpf_map_update_elem(&bio_links, &key, &lv, BPF_ANY);
}

SEC("?tp_btf/block_getrq")
int BPF_PROG(getrq, struct bio *bio)
{
	on_getrq(bio);
	return 0;
}

/* 5.10's signature: (queue, bio, rw) */
SEC("?tp_btf/block_getrq")
int BPF_PROG(getrq_q, struct request_queue *q, struct bio *bio)
{
	on_getrq(bio);
	return 0;
}

/* Requests are issued to the driver here (and again after a requeue). Pre-6.5 kernels link the
 * request to its bio's submission record; queues that do not stamp io_start_time_ns get it here. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(rq_issue, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct link_val *lv = NULL;
	if (link_at_issue && bpf_map_lookup_elem(&links, &key) == NULL) {
		__u64 bkey = (__u64)rq->bio;
		struct link_val *blv = bkey ? bpf_map_lookup_elem(&bio_links, &bkey) : NULL;
		if (blv) {
			if (rq->start_time_ns)
				blv->start_ns = 0;
			if (bpf_map_update_elem(&links, &key, blv, BPF_ANY))
				stat_add(ST_LINK_FULL, 1);
			bpf_map_delete_elem(&bio_links, &bkey);
		}
	}
	/* the kernel stamps io_start_time_ns itself on queues with blk-stat users (wbt, iolatency, …) */
	if (queue_flag_stats >= 0 && queue_flag_stats < 64) {
		if (flag_set(rq->q->queue_flags, queue_flag_stats))
			return 0;
	} else if (!need_issue_ts) {
		return 0;
	}
	lv = bpf_map_lookup_elem(&links, &key);
	if (lv)
		lv->issue_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/block_rq_merge")
int BPF_PROG(rq_merge, struct request *rq)
{
	/* rq was absorbed by another request and is freed without completing */
	__u64 key = (__u64)rq;
	bpf_map_delete_elem(&links, &key);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 op = rq->cmd_flags & REQ_OP_MASK;
	bool final = nr_bytes >= rq->__data_len;
	__u64 key = (__u64)rq;
	struct link_val *lv = op <= 1 ? bpf_map_lookup_elem(&links, &key) : NULL;

	if (!final) {
		stat_add(ST_PARTIAL, 1);
		if (lv) {
			struct io_val *v = agg_get(&lv->key, lv->inode);
			if (v)
				v->bytes += nr_bytes;
		}
		return 0;
	}
	stat_add(ST_RQ_DONE, 1);

	struct hist_key hk = { .op = op <= 1 ? op : 2, .disk = rq_disk_dev(rq) };

	__u64 start = rq->start_time_ns;
	if (!start && lv)
		start = lv->start_ns;
	__u64 issue = rq->io_start_time_ns;
	if (!issue && op <= 1) {
		if (lv && lv->issue_ns)
			issue = lv->issue_ns;
		else if (!need_issue_ts)
			need_issue_ts = 1; /* this queue has no blk-stat user: stamp issues ourselves */
	}
	__u64 q2c = start && now > start ? now - start : 0;
	__u64 d2c = issue && now > issue ? now - issue : 0;
	if (op <= 1 && !issue)
		stat_add(ST_NO_ISSUE, 1);

	struct hist_val *h = bpf_map_lookup_elem(&hist, &hk);
	if (!h) {
		bpf_map_update_elem(&hist, &hk, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hist, &hk);
	}
	if (h) {
		h->ios++;
		h->bytes += nr_bytes;
		if (op <= 1) {
			if (start) {
				h->q2c_ns += q2c;
				max_u64(&h->q2c_max, q2c);
				__u32 b = hist_bucket(q2c);
				if (b < IO_HIST_BUCKETS)
					h->q2c[b]++;
			} else {
				h->no_start++;
			}
			if (issue) {
				h->d2c_ns += d2c;
				h->d2c_ios++;
				max_u64(&h->d2c_max, d2c);
				__u32 b = hist_bucket(d2c);
				if (b < IO_HIST_BUCKETS)
					h->d2c[b]++;
			}
		}
	} else {
		stat_add(ST_HIST_FULL, 1);
	}

	if (!lv) {
		if (op <= 1)
			stat_add(ST_LINK_MISS, 1);
		return 0;
	}
	stat_add(ST_RQ_LINKED, 1);
	struct io_val *v = agg_get(&lv->key, lv->inode);
	if (v) {
		v->ios++;
		v->bytes += nr_bytes;
		if (start) {
			v->q2c_ns += q2c;
			max_u64(&v->q2c_max, q2c);
		}
		if (issue) {
			v->d2c_ns += d2c;
			v->d2c_ios++;
			max_u64(&v->d2c_max, d2c);
		}
	}
	bpf_map_delete_elem(&links, &key);
	return 0;
}

/* ---- tasks stuck in io_schedule ---- */

static __always_inline void fill_stall(struct stall_rec *r, struct task_struct *task, __u64 wait)
{
	r->tid = task->pid;
	r->tgid = task->tgid;
	r->wait_ns = wait;
	__u64 cg_v1;
	task_cgroups(task, &r->cg, &cg_v1);
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), task->comm);
	long n = bpf_get_task_stack(task, r->stack, sizeof(r->stack), 0);
	r->nframes = n > 0 ? (__u32)((__u64)n / 8) : 0;
}

/* prev_state (5.18) is not read: the arguments before it are the same on every kernel, and prev's own
 * state says the same at this point (it only goes back to TASK_RUNNING after it is switched out). */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (!track_stalls)
		return 0;
	__u64 now = 0;
	if (!preempt && task_state(prev) && BPF_CORE_READ_BITFIELD(prev, in_iowait)) {
		struct task_ctx *tc = task_ctx_get(prev, true);
		if (tc) {
			now = bpf_ktime_get_ns();
			tc->blocked_ns = now;
		}
	}
	/* in_iowait is cleared only after the task runs again (io_schedule_finish): a task coming back
	 * from io_schedule still has it; every other switch-in costs this one load */
	if (!BPF_CORE_READ_BITFIELD(next, in_iowait))
		return 0;
	struct task_ctx *nc = task_ctx_get(next, false);
	if (!nc || !nc->blocked_ns)
		return 0;
	if (!now)
		now = bpf_ktime_get_ns();
	__u64 wait = now > nc->blocked_ns ? now - nc->blocked_ns : 0;
	nc->blocked_ns = 0;
	stat_add(ST_IOWAIT_WAITS, 1);
	stat_add(ST_IOWAIT_NS, wait);
	if (wait < stall_ns)
		return 0;
	struct stall_rec *r = bpf_ringbuf_reserve(&events, sizeof(struct stall_rec), 0);
	if (!r) {
		stat_add(ST_STALL_DROP, 1);
		return 0;
	}
	r->type = REC_STALL;
	fill_stall(r, next, wait);
	bpf_ringbuf_submit(r, 0);
	stat_add(ST_STALLS, 1);
	return 0;
}

/* End of the window: the tasks still waiting in io_schedule for longer than the threshold. */
SEC("iter/task")
int stuck_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	struct task_ctx *tc = task_ctx_get(task, false);
	if (!tc || !tc->blocked_ns)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 wait = now > tc->blocked_ns ? now - tc->blocked_ns : 0;
	if (wait < stall_ns)
		return 0;
	__u32 zero = 0;
	struct stall_rec *r = bpf_map_lookup_elem(&stall_scratch, &zero);
	if (!r)
		return 0;
	r->type = REC_STALL;
	fill_stall(r, task, wait);
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}

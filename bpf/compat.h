/* What differs between the kernels we support (5.10 … 7.x) and how the programs read it anyway.
 *
 * Two rules keep one source building and loading everywhere:
 *  - Nothing here names a type or a member that only some kernels have: those are "flavours"
 *    (struct x___y with preserve_access_index), so the program compiles against a vmlinux.h generated
 *    from any of these kernels and CO-RE relocates each access to the running one, or reports it absent
 *    through bpf_core_field_exists() — which the code checks first.
 *  - Helpers that only some kernels have are called behind a `const volatile` switch that user space
 *    sets from the kernel's own BTF before load (agent/src/bpf/probes.ts): the verifier sees the switch
 *    as a constant and never visits the other branch, so an unknown helper there is never checked. */
#ifndef AUTOTRACING_COMPAT_H
#define AUTOTRACING_COMPAT_H

#include <bpf/bpf_core_read.h>

/* bpf_get_current_task_btf (5.11): a task pointer the verifier knows the type of, for direct loads and
 * for task storage. Without it, the current task is a plain address: read it with BPF_CORE_READ (which
 * works on both). */
const volatile bool have_task_btf = false;

static __always_inline struct task_struct *current_task(void)
{
	if (have_task_btf)
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

/* page.flags / folio.flags: `unsigned long` until 6.17, then memdesc_flags_t { unsigned long f; }. */
struct memdesc_flags___x {
	unsigned long f;
};
struct page___md {
	struct memdesc_flags___x flags;
} __attribute__((preserve_access_index));
struct page___ul {
	unsigned long flags;
} __attribute__((preserve_access_index));

/* the first word of a struct page or struct folio (the same layout there: folio overlays page) */
static __always_inline unsigned long page_flags_word(void *page)
{
	unsigned long v = 0;
	if (bpf_core_field_exists(((struct page___md *)0)->flags))
		bpf_core_read(&v, sizeof(v), &((struct page___md *)page)->flags.f);
	else
		bpf_core_read(&v, sizeof(v), &((struct page___ul *)page)->flags);
	return v;
}

/* A tail page of a compound page (large folio) points at its head: page.compound_head = head | 1, renamed
 * compound_info in 7.x, where it may instead hold a mask (vmemmap-optimised hugetlb pages: not page
 * cache, and left as they are here). Read as a number: it shares a union with lru.next. */
struct page___ch {
	unsigned long compound_head;
} __attribute__((preserve_access_index));
struct page___ci {
	unsigned long compound_info;
} __attribute__((preserve_access_index));

static __always_inline void *compound_head_of(void *page)
{
	unsigned long ch = 0;
	if (bpf_core_field_exists(((struct page___ci *)0)->compound_info))
		bpf_core_read(&ch, sizeof(ch), &((struct page___ci *)page)->compound_info);
	else
		bpf_core_read(&ch, sizeof(ch), &((struct page___ch *)page)->compound_head);
	/* a kernel address, tagged: the head page */
	if ((ch & 1) && (ch >> 56) == 0xff)
		return (void *)(ch - 1);
	return page;
}

/* struct folio exists from 5.16; its order moved from _folio_order (6.1) to the low byte of _flags_1. */
struct folio___order {
	unsigned char _folio_order;
	unsigned long _flags_1;
} __attribute__((preserve_access_index));

static __always_inline __u32 folio_order_of(void *folio)
{
	struct folio___order *f = folio;
	__u32 order = 0;
	if (bpf_core_field_exists(f->_folio_order)) {
		__u8 o = 0;
		bpf_core_read(&o, sizeof(o), &f->_folio_order);
		order = o;
	} else if (bpf_core_field_exists(f->_flags_1)) {
		unsigned long w = 0;
		bpf_core_read(&w, sizeof(w), &f->_flags_1);
		order = w & 0xff;
	}
	return order > 20 ? 0 : order;
}

/* The block device a bio is for: bio->bi_bdev (5.12) or bio->bi_disk + bi_partno before. */
struct block_device___x {
	dev_t bd_dev;
} __attribute__((preserve_access_index));
struct bio___bdev {
	struct block_device___x *bi_bdev;
} __attribute__((preserve_access_index));
struct gendisk___x {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));
struct bio___disk {
	struct gendisk___x *bi_disk;
	__u8 bi_partno;
} __attribute__((preserve_access_index));

#define COMPAT_MINORBITS 20

static __always_inline __u32 bio_dev(void *bio)
{
	if (bpf_core_field_exists(((struct bio___bdev *)0)->bi_bdev))
		return BPF_CORE_READ((struct bio___bdev *)bio, bi_bdev, bd_dev);
	struct gendisk___x *disk = BPF_CORE_READ((struct bio___disk *)bio, bi_disk);
	if (!disk)
		return 0;
	__u32 major = BPF_CORE_READ(disk, major), minor = BPF_CORE_READ(disk, first_minor);
	return (major << COMPAT_MINORBITS) | (minor + BPF_CORE_READ((struct bio___disk *)bio, bi_partno));
}

/* The whole disk of a request: rq->q->disk (5.15) or rq->rq_disk (until 5.18). */
struct request_queue___disk {
	struct gendisk___x *disk;
} __attribute__((preserve_access_index));
struct request___q {
	struct request_queue___disk *q;
} __attribute__((preserve_access_index));
struct request___rq_disk {
	struct gendisk___x *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u32 rq_disk_dev(void *rq)
{
	struct gendisk___x *disk = NULL;
	if (bpf_core_field_exists(((struct request_queue___disk *)0)->disk))
		disk = BPF_CORE_READ((struct request___q *)rq, q, disk);
	else if (bpf_core_field_exists(((struct request___rq_disk *)0)->rq_disk))
		disk = BPF_CORE_READ((struct request___rq_disk *)rq, rq_disk);
	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << COMPAT_MINORBITS) | (__u32)BPF_CORE_READ(disk, first_minor);
}

/* dentry.d_alias: inside the named union d_u until 7.0, then in an anonymous union. */
struct dentry___du {
	union {
		struct hlist_node d_alias;
	} d_u;
} __attribute__((preserve_access_index));
struct dentry___anon {
	struct hlist_node d_alias;
} __attribute__((preserve_access_index));

static __always_inline struct dentry *dentry_of_alias(struct hlist_node *alias)
{
	if (bpf_core_field_exists(((struct dentry___anon *)0)->d_alias))
		return (struct dentry *)((void *)alias - bpf_core_field_offset(struct dentry___anon, d_alias));
	return (struct dentry *)((void *)alias - bpf_core_field_offset(struct dentry___du, d_u.d_alias));
}

#endif

/* Small definitions every BPF program here needs and vmlinux.h does not carry (macros are not in BTF). */
#ifndef AUTOTRACING_COMMON_H
#define AUTOTRACING_COMMON_H

#define EPERM 1
#define ENOENT 2
#define EFAULT 14
#define EEXIST 17
#define ENOMEM 12

#define TASK_RUNNING 0x0000
#define TASK_INTERRUPTIBLE 0x0001
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_NOLOAD 0x0400

/* UAPI numbers newer than some kernels' vmlinux.h (their enums are not there to name). */
#define AT_MAP_TYPE_TASK_STORAGE 29

#endif

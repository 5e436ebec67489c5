// What the running kernel offers our BPF programs, read from its own BTF (never from its version
// string): helpers and map types it knows (their UAPI enumerators are in BTF), tracepoint signatures,
// kernel functions an fentry or kprobe can attach to. Loaders use these answers to pick each
// program's variant before load; `doctor` prints them.
import fs from 'node:fs';
import { native, type KernelBtf } from './native';
import { kernelEnumValue } from './btfEnums';

export const BPF_MAP_TYPE_LRU_HASH = 9;
export const BPF_F_NO_PREALLOC = 1;

export interface KernelFeatures {
  /** bpf_get_current_task_btf (5.11): a typed current task, needed for task storage */
  taskBtf: boolean;
  /** BPF_MAP_TYPE_TASK_STORAGE (5.11) */
  taskStorage: boolean;
  /** run-time allocated hash maps in NMI context (perf_event programs): the BPF memory allocator (6.1) */
  nmiSafeAlloc: boolean;
  /** pid/tid filters on task iterators (bpf_iter_link_info.task, 6.1) */
  taskIterFilter: boolean;
  /** kprobe_events in tracefs: kprobes can be created */
  kprobes: boolean;
}

let btf: KernelBtf | null | undefined;

/** The running kernel's BTF (cached for the process), or null when it has none. */
export function kernelBtf(): KernelBtf | null {
  if (btf === undefined) {
    try {
      btf = new (native().KernelBtf)();
    } catch {
      btf = null;
    }
  }
  return btf;
}

let features: KernelFeatures | null = null;

export function kernelFeatures(): KernelFeatures {
  if (features) return features;
  const b = kernelBtf();
  features = {
    taskBtf: kernelEnumValue('BPF_FUNC_get_current_task_btf') !== null,
    taskStorage: kernelEnumValue('BPF_MAP_TYPE_TASK_STORAGE') !== null,
    nmiSafeAlloc: b?.hasType('bpf_mem_alloc', 'struct') ?? false,
    taskIterFilter: b ? b.memberType('bpf_iter_link_info', 'task') !== null : false,
    kprobes: ['/sys/kernel/tracing/kprobe_events', '/sys/kernel/debug/tracing/kprobe_events'].some((f) =>
      fs.existsSync(f)
    ),
  };
  return features;
}

/** Arguments of a BTF-typed tracepoint, or null when this kernel does not have it. */
export function tracepointArgs(name: string): string[] | null {
  return kernelBtf()?.tracepointArgs(name) ?? null;
}

/** Arguments of a kernel function with BTF (not inlined away), or null. */
export function functionArgs(name: string): string[] | null {
  return kernelBtf()?.funcArgs(name) ?? null;
}

/** For tests: forget cached answers. */
export function resetProbes(): void {
  btf?.close();
  btf = undefined;
  features = null;
}

// Conditions for variant definitions (see variants.ts): null when the kernel has the hook, else why not.

/** A BTF-typed tracepoint, optionally with a given signature. */
export function hasTracepoint(name: string, signature?: (args: string[]) => boolean): () => string | null {
  return () => {
    const a = tracepointArgs(name);
    if (!a) return `no tracepoint ${name}`;
    if (signature && !signature(a)) return `tracepoint ${name} passes (${a.join(', ')})`;
    return null;
  };
}

/** A kernel function an fentry program can attach to (it has BTF, so it was not inlined away). */
export function hasFunction(name: string, signature?: (args: string[]) => boolean): () => string | null {
  return () => {
    const a = functionArgs(name);
    if (!a) return `no function ${name} with BTF`;
    if (signature && !signature(a)) return `${name} takes (${a.join(', ')})`;
    return null;
  };
}

/** The same function, for a kprobe: needs kprobes in the kernel as well. */
export function hasKprobe(name: string, signature?: (args: string[]) => boolean): () => string | null {
  const fn = hasFunction(name, signature);
  return () => (kernelFeatures().kprobes ? fn() : 'no kprobes in this kernel');
}

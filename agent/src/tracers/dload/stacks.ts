// Kernel stacks of blocked tasks: trimming (tracing machinery and scheduler functions at the innermost
// end), symbolization, /proc/PID/stack parsing, grouping of tasks by identical stack, and the
// known-issue labels. Stacks are string[] of function names, outermost first, everywhere in evidence.
import fs from 'node:fs';
import type { KernelSymbols } from '../../profiles/symbols/kallsyms';
import type { KnownIssue } from '../../config';

export interface AddrRange {
  start: bigint;
  end: bigint;
}

let schedRange: { file: string; range: AddrRange | null } | null = null;

/** [__sched_text_start, __sched_text_end): the functions /proc/PID/stack and wchan skip (schedule(),
 *  io_schedule(), wait_for_completion(), …). Read once per process; null when kallsyms hides them. */
export function schedTextRange(file = '/proc/kallsyms'): AddrRange | null {
  if (schedRange && schedRange.file === file) return schedRange.range;
  let range: AddrRange | null = null;
  try {
    const text = fs.readFileSync(file, 'latin1');
    const find = (name: string): bigint | null => {
      const m = new RegExp(`^([0-9a-f]{16}) \\w ${name}$`, 'm').exec(text);
      return m ? BigInt(`0x${m[1]}`) : null;
    };
    const start = find('__sched_text_start');
    const end = find('__sched_text_end');
    if (start && end && end > start) range = { start, end };
  } catch {
    range = null;
  }
  schedRange = { file, range };
  return range;
}

/** Frames of the probe itself at the innermost end of a stack taken in a BPF program: the BPF
 *  program (unnamed unless net.core.bpf_jit_kallsyms is on) and the tracepoint glue. */
export function isTracingFrame(name: string): boolean {
  return /^(bpf_|__bpf_|__traceiter_|__probestub_|trace_event_raw_event_|perf_trace_|\[kernel\] 0x)/.test(name);
}

/**
 * Innermost-first addresses → outermost-first frame names, without the BPF/tracepoint frames at the
 * innermost end and (with `sched`) without the scheduler functions there either, so that a stack taken
 * at sched_switch reads like /proc/PID/stack of the same wait (its innermost frame is the wait channel).
 */
export function kernelFrames(addrs: readonly bigint[], ks: KernelSymbols, sched: AddrRange | null = null): string[] {
  const names = addrs.map((a) => ks.frame(a).name);
  let i = 0;
  while (i < addrs.length && isTracingFrame(names[i]!)) i++;
  if (sched) {
    let j = i;
    while (j < addrs.length && addrs[j]! >= sched.start && addrs[j]! < sched.end) j++;
    // a stack made only of scheduler functions keeps them (never happens from a syscall or kthread)
    if (j < addrs.length) i = j;
  }
  return names.slice(i).reverse();
}

/** /proc/PID/stack text ("[<0>] io_schedule+0x12/0x40" lines, innermost first) → names, outermost first. */
export function parseProcStack(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[<[0-9a-fx]+>\]\s+([^+\s]+)/.exec(line.trim());
    if (m) out.push(m[1]!);
  }
  return out.reverse();
}

/** The folded form known issues are matched against: outermost first, ";"-separated. */
export function foldStack(stack: readonly string[]): string {
  return stack.join(';');
}

export interface CompiledIssue {
  name: string;
  regex: string;
  re: RegExp;
}

export function compileKnownIssues(issues: readonly KnownIssue[]): CompiledIssue[] {
  const out: CompiledIssue[] = [];
  for (const k of issues) {
    try {
      out.push({ name: k.name, regex: k.regex, re: new RegExp(k.regex) });
    } catch {
      // validated when the config loads; a bad one here is skipped rather than breaking captures
    }
  }
  return out;
}

/** The first issue in list order whose regex matches one of the stacks (folded, outermost first). */
export function firstKnownIssue(
  issues: readonly CompiledIssue[],
  stacks: readonly (readonly string[])[]
): CompiledIssue | null {
  const folded = stacks.map(foldStack);
  for (const k of issues) if (folded.some((s) => k.re.test(s))) return k;
  return null;
}

/** Which issue labels one stack (first match in list order). */
export function issueOf(issues: readonly CompiledIssue[], stack: readonly string[]): string | null {
  const s = foldStack(stack);
  for (const k of issues) if (k.re.test(s)) return k.name;
  return null;
}

export interface StackGroup<T> {
  /** 1-based, by size: group 1 is the stack most tasks share */
  group: number;
  stack: string[];
  tasks: T[];
}

/** Tasks grouped by identical stack, largest group first (ties: longest blocked first, then stack text). */
export function groupByStack<T extends { stack: string[]; blockedMs: number | null }>(
  tasks: readonly T[]
): StackGroup<T>[] {
  const by = new Map<string, T[]>();
  for (const t of tasks) {
    const k = foldStack(t.stack);
    const l = by.get(k);
    if (l) l.push(t);
    else by.set(k, [t]);
  }
  const maxBlocked = (l: T[]) => Math.max(...l.map((t) => t.blockedMs ?? -1));
  return [...by.entries()]
    .sort(
      (a, b) =>
        b[1].length - a[1].length || maxBlocked(b[1]) - maxBlocked(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
    )
    .map(([, l], i) => ({ group: i + 1, stack: [...l[0]!.stack], tasks: l }));
}

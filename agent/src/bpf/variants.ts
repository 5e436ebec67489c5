// Loading a BPF object whose programs come in variants: one per hook a kernel may offer (a tracepoint,
// else fentry, else a kprobe; a tracepoint's old or new signature). Each group of programs has its
// variants in order of preference; the first one this kernel can run — judged first from its BTF,
// then by really loading and attaching — is used, the others stay unloaded (autoload off). A required
// group that has no working variant fails the load with every reason; an optional one is left out and
// named in `missing`, which the evidence and `doctor` show.
import { openObject, isBpfError, type BpfObject, type BpfLink } from './native';

export interface Variant {
  /** what this variant attaches to, as a user reads it: "tracepoint block_io_start", "fentry __iomap_dio_rw" */
  label: string;
  programs: string[];
  /** programs of the variant that are not attached by section (iterators: run on demand) */
  detached?: string[];
  /** null when this kernel can run it, else why not (answered from BTF, before any load) */
  unavailable?: () => string | null;
}

export interface ProgramGroup {
  /** what the group gives the evidence: "direct-IO file attribution" */
  name: string;
  required: boolean;
  variants: Variant[];
}

export interface GroupOutcome {
  group: string;
  required: boolean;
  /** the variant in use, or null (optional group left out) */
  variant: string | null;
  /** why each variant before it (or every variant) was not used */
  skipped: string[];
}

export interface LoadedObject {
  obj: BpfObject;
  links: BpfLink[];
  outcomes: GroupOutcome[];
  /** optional groups left out, with why: "direct-IO file attribution: no tracepoint iomap_dio_rw_begin; …" */
  missing: string[];
  /** true when the group runs with the variant of that label */
  uses(label: string): boolean;
  /** detach and free everything */
  close(): void;
}

export interface LoadOptions {
  object: string;
  groups: ProgramGroup[];
  /** globals, map sizes, map types: called on every attempt, after the variants are chosen */
  configure?: (obj: BpfObject, uses: (label: string) => boolean) => void;
  /** attach the chosen programs (default true) */
  attach?: boolean;
}

/** Failures of a variant in this process, so later loads skip it at once. */
const knownFailures = new Map<string, string>();
/** A kernel (or its LSM policy) that refuses to load fentry programs with EPERM refuses them all. */
let fentryRefused: string | null = null;

/** errnos that say nothing lasting about the kernel (retry next time) */
const TRANSIENT = new Set(['EAGAIN', 'EINTR', 'EBUSY', 'ENOMEM']);

/** The verifier's (or libbpf's) own reason for refusing a load, not the tail of its log. */
export function loadFailureReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const log = isBpfError(e) ? (e.libbpfLog ?? '') : '';
  const code = isBpfError(e) ? e.code : '';
  const prog = failingProgram(log);
  const reason = verifierReason(log) ?? libbpfReason(log) ?? e.message.split(' [libbpf:')[0]!;
  return [code, prog ? `program ${prog}` : null, reason].filter(Boolean).join(': ');
}

/** The program libbpf says failed to load, if any. */
export function failingProgram(log: string): string | null {
  let last: string | null = null;
  for (const m of log.matchAll(
    /prog '([^']+)': (?:BPF program load failed|failed to load|failed to (?:resolve|relocate))/g
  ))
    last = m[1]!;
  return last;
}

const NOT_A_REASON =
  /^\s*(?:\d+: |;|R\d|regs=|last_idx|from \d+ to|frame\d|mark_precise|parent |\.\.\.|Validating|Func#|func#|arg#\d|Unrecognized arg|reg type unsupported|propagating|at insn|caller passes|returning from|Live regs|Global function|$)/;

/** The line of a verifier log that says why: the last one before "processed N insns" that is not an
 *  instruction, a register state or a source comment. */
export function verifierReason(log: string): string | null {
  const begin = log.lastIndexOf('-- BEGIN PROG LOAD LOG --');
  if (begin < 0) return null;
  const end = log.indexOf('-- END PROG LOAD LOG --', begin);
  const body = log
    .slice(begin, end < 0 ? undefined : end)
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^libbpf: /, ''));
  let stop = body.findIndex((l) => /^processed \d+ insns/.test(l));
  if (stop < 0) stop = body.length;
  for (let i = stop - 1; i >= 0; i--) {
    const l = body[i]!;
    if (!NOT_A_REASON.test(l)) return l.trim();
  }
  return null;
}

/** libbpf's reason when the kernel was never asked (an extern or a relocation it could not resolve). */
function libbpfReason(log: string): string | null {
  const lines = log
    .split('\n')
    .map((l) => l.replace(/^libbpf: /, '').trim())
    .filter(Boolean);
  const hit = [...lines]
    .reverse()
    .find((l) => /not found|failed to resolve|unsupported|relo #\d+|invalid|cannot/i.test(l));
  return hit ?? null;
}

function transient(e: unknown): boolean {
  return isBpfError(e) && TRANSIENT.has(e.code);
}

/** Open, choose variants, load and attach; retries without each variant the kernel refuses. */
export function loadWithVariants(opts: LoadOptions): LoadedObject {
  const { object, groups } = opts;
  const allGrouped = new Set(groups.flatMap((g) => g.variants.flatMap((v) => v.programs)));
  // per group: index of the variant to try next, and the reasons collected so far
  const next = groups.map(() => 0);
  const skipped: string[][] = groups.map(() => []);
  const key = (v: Variant) => `${object}\0${v.label}\0${v.programs.join(',')}`;

  // the first usable variant of group gi from next[gi] on (BTF checks, known failures), or null
  const choose = (gi: number): Variant | null => {
    const g = groups[gi]!;
    for (; next[gi]! < g.variants.length; next[gi]!++) {
      const v = g.variants[next[gi]!]!;
      const why =
        knownFailures.get(key(v)) ?? (v.label.startsWith('fentry') ? fentryRefused : null) ?? v.unavailable?.() ?? null;
      if (why === null) return v;
      skipped[gi]!.push(`${v.label}: ${why}`);
    }
    return null;
  };
  const fail = (gi: number, v: Variant, why: string, e: unknown) => {
    skipped[gi]!.push(`${v.label}: ${why}`);
    if (!transient(e)) knownFailures.set(key(v), why);
    if (v.label.startsWith('fentry') && !why.includes('attach:') && isBpfError(e) && e.code === 'EPERM')
      fentryRefused = `this kernel refuses fentry programs (${e.code})`;
    next[gi]!++;
  };
  const unusable = (gi: number) => {
    const g = groups[gi]!;
    return new Error(
      `${object}.bpf.o: no variant of "${g.name}" works on this kernel (${skipped[gi]!.join('; ') || 'none defined'})`
    );
  };

  for (let attempt = 0; attempt < 1 + groups.reduce((n, g) => n + g.variants.length, 0); attempt++) {
    const chosen = groups.map((_, gi) => choose(gi));
    chosen.forEach((v, gi) => {
      if (!v && groups[gi]!.required) throw unusable(gi);
    });
    const on = new Set(chosen.flatMap((v) => v?.programs ?? []));
    const labels = new Set(chosen.filter((v): v is Variant => v !== null).map((v) => v.label));
    const uses = (label: string) => labels.has(label);
    const obj = openObject(object);
    const links: BpfLink[] = [];
    const closeAll = () => {
      for (const l of links) l.destroy();
      obj.close();
    };
    try {
      for (const p of allGrouped) obj.setAutoload(p, on.has(p));
      opts.configure?.(obj, uses);
    } catch (e) {
      closeAll();
      throw e;
    }
    try {
      obj.load();
    } catch (e) {
      closeAll();
      const prog = isBpfError(e) ? failingProgram(e.libbpfLog ?? '') : null;
      const gi = prog ? chosen.findIndex((v) => v?.programs.includes(prog)) : -1;
      if (gi < 0) throw e; // not one of our variants: a map, an extern, the object itself
      fail(gi, chosen[gi]!, loadFailureReason(e), e);
      continue;
    }
    if (opts.attach === false) return finish(obj, links, chosen);
    let retry = false;
    for (let gi = 0; gi < groups.length && !retry; gi++) {
      const v = chosen[gi];
      if (!v) continue;
      for (const p of v.programs) {
        if (v.detached?.includes(p)) continue;
        try {
          links.push(obj.attach(p));
        } catch (e) {
          closeAll();
          fail(gi, v, `attach: ${isBpfError(e) ? e.code : ''} ${(e as Error).message.split(' [libbpf:')[0]}`.trim(), e);
          retry = true;
          break;
        }
      }
    }
    if (!retry) return finish(obj, links, chosen);
  }
  throw new Error(`${object}.bpf.o: gave up choosing program variants`);

  function finish(obj: BpfObject, links: BpfLink[], chosen: (Variant | null)[]): LoadedObject {
    const outcomes: GroupOutcome[] = groups.map((g, gi) => ({
      group: g.name,
      required: g.required,
      variant: chosen[gi]?.label ?? null,
      skipped: skipped[gi]!,
    }));
    const labels = new Set(chosen.filter((v): v is Variant => v !== null).map((v) => v.label));
    return {
      obj,
      links,
      outcomes,
      missing: outcomes.filter((o) => !o.variant).map((o) => `${o.group}: ${o.skipped.join('; ') || 'not available'}`),
      uses: (label) => labels.has(label),
      close() {
        for (const l of links) l.destroy();
        links.length = 0;
        obj.close();
      },
    };
  }
}

/** For tests: forget remembered failures. */
export function forgetVariantFailures(): void {
  knownFailures.clear();
  fentryRefused = null;
}

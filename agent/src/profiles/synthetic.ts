// Deterministic synthetic profiles for tests and benchmarks: `stacks` distinct stacks of exactly
// `depth` frames (a process frame, user frames, then kernel frames), sharing prefixes the way real
// profiles do (a few hundred hot paths, distinct leaves).
import { Profile, type Frame, type ProfileOptions } from './model';

export interface SyntheticOptions extends ProfileOptions {
  stacks?: number;
  depth?: number;
  seed?: number;
}

export function syntheticProfile(opts: SyntheticOptions = {}): Profile {
  const { stacks = 20_000, depth = 60, seed = 1, ...meta } = opts;
  if (depth < 4) throw new RangeError('depth must be at least 4');
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
  const pool: Frame[] = [];
  for (let i = 0; i < 3000; i++) {
    pool.push(
      i % 3 === 0
        ? { name: `kfunc_${i}`, kind: 'kernel' }
        : { name: `func_${i}`, kind: i % 17 === 1 ? 'jit' : 'user', module: `/usr/lib/lib${i % 40}.so` }
    );
  }
  const leafDigits = Math.max(1, Math.ceil(Math.log(stacks) / Math.log(28)));
  const templates: Frame[][] = [];
  for (let t = 0; t < 200; t++) {
    const tmpl: Frame[] = [{ name: `proc${t % 30}`, kind: 'process' }];
    for (let j = 1; j < depth - leafDigits; j++) tmpl.push(pool[Math.floor(rnd() * pool.length)]!);
    templates.push(tmpl);
  }
  const p = new Profile({ unit: 'samples', ...meta });
  const stack: Frame[] = [];
  for (let i = 0; i < stacks; i++) {
    const tmpl = templates[i % templates.length]!;
    stack.length = 0;
    for (const f of tmpl) stack.push(f);
    // Distinct leaves: the stack index in base 28 over 28 pool frames.
    let k = Math.floor(i / templates.length);
    for (let j = 0; j < leafDigits; j++) {
      stack.push(pool[k % 28]!);
      k = Math.floor(k / 28);
    }
    p.add(stack, 1 + Math.floor(rnd() * 100));
  }
  return p;
}

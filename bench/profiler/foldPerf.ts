// `perf script` text → folded stacks (comm;outer;…;leaf N), like stackcollapse-perf.pl: the post-
// processing a perf user runs to get a flame graph. Reads stdin, writes stdout.
import readline from 'node:readline';

const counts = new Map<string, number>();
let comm: string | null = null;
let frames: string[] = [];

function flush(): void {
  if (comm !== null) {
    const key = [comm, ...frames.reverse()].join(';');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  comm = null;
  frames = [];
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (line.length === 0) {
    flush();
    return;
  }
  if (line[0] !== ' ' && line[0] !== '\t') {
    // "comm  pid [cpu] time: period event:" — comm may contain spaces: take what precedes the pid
    const m = /^(.+?)\s+\d+(?:\/\d+)?\s+\[\d+\]/.exec(line);
    comm = m ? m[1]!.trim() : line.split(/\s+/)[0]!;
    return;
  }
  // "\t ffffffff81234567 do_syscall_64+0x5c ([kernel.kallsyms])"
  const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
  if (!m) return;
  let sym = m[1]!.replace(/\+0x[0-9a-f]+$/, '');
  const dso = m[2]!;
  if (sym === '[unknown]') sym = `[${dso.split('/').pop()}]`;
  if (dso.startsWith('[kernel')) sym += '_[k]';
  frames.push(sym);
});
rl.on('close', () => {
  flush();
  const out: string[] = [];
  for (const [k, v] of counts) out.push(`${k} ${v}`);
  process.stdout.write(out.join('\n') + '\n');
});

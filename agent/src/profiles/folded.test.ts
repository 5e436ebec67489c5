import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Profile, type Frame } from './model';
import { escapeFoldedName, fromFolded, toFolded } from './folded';
import { syntheticProfile } from './synthetic';

const NASTY = [
  'a;b',
  'line\nbreak',
  'cr\rlf\r\n',
  'back\\slash',
  'literal \\x3b escape',
  'user_[k]',
  'std::vector<int, std::allocator<int> >::push_back(int const&)',
  'name with spaces 12',
  ' leading and trailing ',
  '',
  '<&"\'>',
  'ünïcödé 火焰 🔥',
  '[unknown] libfoo.so+0x1234',
  '%3B not decoded',
];

function nastyProfile(): Profile {
  const p = new Profile({ unit: 'samples' });
  let v = 1;
  for (const name of NASTY) {
    // Folded text reads "[unknown]…" names back as unknown frames.
    p.add(
      [
        { name: 'proc;1', kind: 'process' },
        { name, kind: name.startsWith('[unknown]') ? 'unknown' : 'user' },
      ],
      v++
    );
    p.add(
      [
        { name: 'proc;1', kind: 'process' },
        { name: 'main', kind: 'user' },
        { name, kind: 'kernel' },
      ],
      v++
    );
  }
  p.add(
    [
      { name: 'node', kind: 'process' },
      { name: 'LazyCompile:~handler /app/x.js:1', kind: 'jit' },
    ],
    7
  );
  return p;
}

const describeStacks = (p: Profile): string[] =>
  p.stacks().map((s) => JSON.stringify([s.frames.map((f: Frame) => [f.name, f.kind]), s.value]));

test('folded text round-trips nasty names, values and kernel/JIT/process kinds', () => {
  const p = nastyProfile();
  const text = toFolded(p);
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, p.stackCount, 'one line per distinct stack');
  for (const line of lines) {
    // Every line is `frames VALUE` with exactly as many ';'-fields as frames.
    assert.match(line, / \d+$/);
    assert.ok(!line.includes('\r'));
  }
  const back = fromFolded(text, { processRoot: true });
  assert.deepEqual(describeStacks(back), describeStacks(p));
  assert.equal(back.total, p.total);
  assert.equal(toFolded(back), text, 'stable under a second round trip');
});

test('escaped names keep one field per frame for other tools', () => {
  for (const name of NASTY) {
    const e = escapeFoldedName(name);
    assert.ok(!/[;\r\n]/.test(e), `escaped ${JSON.stringify(name)} has no separator`);
  }
  assert.equal(escapeFoldedName('a;b'), 'a\\x3bb');
  assert.equal(escapeFoldedName('plain name'), 'plain name');
  const text = toFolded(nastyProfile());
  const line = text.split('\n').find((l) => l.startsWith('proc\\x3b1;a\\x3bb '))!;
  assert.equal(line.split(';').length, 2);
});

test('output is deterministic and annotations are optional', () => {
  const stacks: [Frame[], number][] = [
    [
      [
        { name: 'b', kind: 'process' },
        { name: 'z', kind: 'user' },
      ],
      1,
    ],
    [
      [
        { name: 'a', kind: 'process' },
        { name: 'y', kind: 'user' },
        { name: 'vfs_read', kind: 'kernel' },
      ],
      2,
    ],
    [
      [
        { name: 'a', kind: 'process' },
        { name: 'x', kind: 'jit' },
      ],
      3,
    ],
  ];
  const p1 = new Profile();
  const p2 = new Profile();
  for (const [s, v] of stacks) p1.add(s, v);
  for (const [s, v] of [...stacks].reverse()) p2.add(s, v);
  const expected = 'a;x_[j] 3\na;y;vfs_read_[k] 2\nb;z 1\n';
  assert.equal(toFolded(p1), expected);
  assert.equal(toFolded(p2), expected);
  assert.equal(toFolded(p1, { annotate: false }), 'a;x 3\na;y;vfs_read 2\nb;z 1\n');
  assert.equal(toFolded(new Profile()), '');
});

test('reading tolerates comments, CRLF, repeated stacks, fractions and perf annotations', () => {
  const text = '# comment\r\nmain;foo 3\r\n\r\nmain;foo 2\nmain;bar_[i] 1.5\nmain;schedule_[k] 4\nmain;[unknown] 7\n';
  const p = fromFolded(text, { unit: 'nanoseconds', period: 5 });
  assert.equal(p.unit, 'nanoseconds');
  assert.equal(p.period, 5);
  assert.equal(p.total, 17.5);
  assert.equal(p.stackCount, 4);
  const byName = new Map(p.stacks().map((s) => [s.frames.at(-1)!.name, s]));
  assert.equal(byName.get('foo')!.value, 5);
  assert.equal(byName.get('bar')!.frames.at(-1)!.kind, 'user');
  assert.equal(byName.get('schedule')!.frames.at(-1)!.kind, 'kernel');
  assert.equal(byName.get('[unknown]')!.frames.at(-1)!.kind, 'unknown');
  assert.equal(byName.get('foo')!.frames[0]!.kind, 'user', 'no process root unless asked');
});

test('malformed lines are rejected with their line number', () => {
  assert.throws(() => fromFolded('a;b 1\nno-value-here\n'), /line 2/);
  assert.throws(() => fromFolded('a;b -3\n'), /line 1: bad value/);
  assert.throws(() => fromFolded('a;b 1\n\na;b x\n'), /line 3/);
});

test('a 20,000-stack profile round-trips through folded text', () => {
  const p = syntheticProfile({ stacks: 20_000, depth: 60 });
  const text = toFolded(p);
  const back = fromFolded(text, { processRoot: true });
  assert.equal(back.stackCount, 20_000);
  assert.equal(back.total, p.total);
  assert.equal(toFolded(back), text);
});

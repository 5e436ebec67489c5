import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import {
  Function as PprofFunction,
  Line,
  Location,
  Mapping,
  Profile as PprofProfile,
  Sample,
  StringTable,
  ValueType,
} from 'pprof-format';
import { Profile, type Frame } from './model';
import { fromPprof, toPprof } from './pprof';
import { syntheticProfile } from './synthetic';

const proc = (name: string): Frame => ({ name, kind: 'process' });

function sample(): Profile {
  const p = new Profile({ unit: 'samples', period: 10_101_010, startTime: 1_764_000_000_123, durationMs: 10_000 });
  p.add(
    [
      proc('nginx'),
      { name: 'main', kind: 'user', module: '/usr/sbin/nginx' },
      { name: 'do_epoll_wait', kind: 'kernel' },
    ],
    7
  );
  p.add([proc('nginx'), { name: 'main', kind: 'user', module: '/usr/sbin/nginx' }], 2);
  p.add([proc('nginx'), { name: '[unknown] libfoo.so+0x1234', kind: 'unknown', module: '/usr/lib/libfoo.so' }], 3);
  p.add(
    [
      proc('node'),
      { name: 'LazyCompile:~handler', kind: 'jit', module: '/tmp/perf-42.map' },
      { name: 'ext4_file_read_iter', kind: 'kernel', module: 'ext4' },
    ],
    4
  );
  p.add([proc('node'), { name: 'Builtin:"quoted" <&>', kind: 'jit' }], 1);
  return p;
}

test('pprof decodes with pprof-format: sample types, period, totals, one location/function per frame', () => {
  const p = sample();
  const buf = toPprof(p);
  assert.deepEqual([...buf.subarray(0, 2)], [0x1f, 0x8b], 'gzipped');
  const pp = PprofProfile.decode(gunzipSync(buf));
  const s = (i: number | bigint): string => pp.stringTable.strings[Number(i)]!;
  assert.deepEqual(
    pp.sampleType.map((t) => [s(t.type), s(t.unit)]),
    [
      ['samples', 'count'],
      ['cpu', 'nanoseconds'],
    ]
  );
  assert.deepEqual([s(pp.periodType!.type), s(pp.periodType!.unit)], ['cpu', 'nanoseconds']);
  assert.equal(Number(pp.period), 10_101_010);
  assert.equal(BigInt(pp.timeNanos), 1_764_000_000_123n * 1_000_000n);
  assert.equal(Number(pp.durationNanos), 10_000 * 1e6);
  assert.equal(pp.sample.length, p.stackCount);
  assert.equal(
    pp.sample.reduce((a, x) => a + Number(x.value[0]), 0),
    p.total
  );
  assert.equal(
    pp.sample.reduce((a, x) => a + Number(x.value[1]), 0),
    p.total * 10_101_010
  );

  const distinctFrames = new Set(p.stacks().flatMap((x) => x.frames));
  assert.equal(pp.location.length, distinctFrames.size);
  assert.equal(pp.function.length, distinctFrames.size);
  assert.deepEqual(new Set(pp.function.map((f) => s(f.name))), new Set([...distinctFrames].map((f) => f.name)));

  // Leaf first: the 7-sample stack starts with do_epoll_wait, in the "[kernel]" mapping.
  const fnName = new Map(pp.function.map((f) => [Number(f.id), s(f.name)]));
  const loc = new Map(pp.location.map((l) => [Number(l.id), l]));
  const mapping = new Map(pp.mapping.map((m) => [Number(m.id), m]));
  const hot = pp.sample.find((x) => Number(x.value[0]) === 7)!;
  const names = hot.locationId.map((id) => fnName.get(Number(loc.get(Number(id))!.line[0]!.functionId)));
  assert.deepEqual(names, ['do_epoll_wait', 'main', 'nginx']);
  const mappingOf = (name: string): Mapping => {
    const l = pp.location.find((x) => fnName.get(Number(x.line[0]!.functionId)) === name)!;
    return mapping.get(Number(l.mappingId))!;
  };
  assert.equal(s(mappingOf('do_epoll_wait').filename), '[kernel]');
  assert.equal(s(mappingOf('ext4_file_read_iter').filename), '[kernel] ext4');
  assert.equal(s(mappingOf('main').filename), '/usr/sbin/nginx');
  assert.equal(mappingOf('main').hasFunctions, true);
  assert.equal(s(mappingOf('[unknown] libfoo.so+0x1234').filename), '/usr/lib/libfoo.so');
  assert.equal(mappingOf('[unknown] libfoo.so+0x1234').hasFunctions, false);
  assert.equal(s(mappingOf('LazyCompile:~handler').filename), '[jit] /tmp/perf-42.map');
  assert.equal(s(mappingOf('nginx').filename), '[process]');
});

test('pprof round-trips frames (names, kinds, modules), values and metadata', () => {
  const p = sample();
  const back = fromPprof(toPprof(p));
  assert.deepEqual(back.stacks(), p.stacks());
  assert.deepEqual(back.meta, p.meta);
});

test('other units get their own sample types', () => {
  for (const [unit, type] of [
    ['nanoseconds', 'time'],
    ['bytes', 'space'],
    ['count', 'events'],
  ] as const) {
    const p = new Profile({ unit });
    p.add([proc('x'), { name: 'f', kind: 'user' }], 1500);
    const pp = PprofProfile.decode(gunzipSync(toPprof(p)));
    const s = (i: number | bigint): string => pp.stringTable.strings[Number(i)]!;
    assert.deepEqual(
      pp.sampleType.map((t) => [s(t.type), s(t.unit)]),
      [[type, unit]]
    );
    const back = fromPprof(toPprof(p));
    assert.equal(back.unit, unit);
    assert.equal(back.total, 1500);
  }
  const named = PprofProfile.decode(gunzipSync(toPprof(sample(), { sampleTypeName: 'oncpu' })));
  assert.equal(named.stringTable.strings[Number(named.sampleType[0]!.type)], 'oncpu');
});

test('foreign pprof: inlined lines, unsymbolized locations, perf kernel mapping, sample type by name', () => {
  const st = new StringTable();
  const fn = (id: number, name: string): PprofFunction =>
    new PprofFunction({ id, name: st.dedup(name), systemName: st.dedup(name) });
  const functions = [fn(1, 'main'), fn(2, 'inlined_helper'), fn(3, 'schedule'), fn(4, 'caller')];
  const mappings = [
    new Mapping({
      id: 1,
      filename: st.dedup('/usr/bin/app'),
      memoryStart: 0x400000,
      fileOffset: 0,
      hasFunctions: true,
    }),
    new Mapping({ id: 2, filename: st.dedup('[kernel.kallsyms]'), hasFunctions: true }),
  ];
  const locations = [
    new Location({ id: 1, mappingId: 1, line: [new Line({ functionId: 1 })] }),
    // line[0] is the inlined callee, line[1] its caller.
    new Location({ id: 2, mappingId: 1, line: [new Line({ functionId: 2 }), new Line({ functionId: 4 })] }),
    new Location({ id: 3, mappingId: 2, line: [new Line({ functionId: 3 })] }),
    new Location({ id: 4, mappingId: 1, address: 0x401234 }),
  ];
  const cpu = new ValueType({ type: st.dedup('cpu'), unit: st.dedup('microseconds') });
  const pp = new PprofProfile({
    sampleType: [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }), cpu],
    sample: [
      new Sample({ locationId: [3, 2, 1], value: [2, 20] }),
      new Sample({ locationId: [4, 1], value: [1, 10] }),
      new Sample({ locationId: [1], value: [0, 0] }),
    ],
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: st,
    periodType: cpu,
    period: 10,
  });
  const raw = pp.encode();
  const bySamples = fromPprof(raw); // not gzipped
  assert.equal(bySamples.unit, 'samples');
  assert.equal(bySamples.total, 3);
  assert.equal(bySamples.period, 10_000, 'period converted to ns');
  assert.deepEqual(
    bySamples.stacks().map((s) => [s.frames.map((f) => `${f.name}/${f.kind}/${f.module ?? ''}`), s.value]),
    [
      [['main/user//usr/bin/app', '[unknown] /usr/bin/app+0x1234/unknown//usr/bin/app'], 1],
      [
        ['main/user//usr/bin/app', 'caller/user//usr/bin/app', 'inlined_helper/user//usr/bin/app', 'schedule/kernel/'],
        2,
      ],
    ]
  );
  const byCpu = fromPprof(raw, { sampleType: 'cpu' });
  assert.equal(byCpu.unit, 'nanoseconds');
  assert.equal(byCpu.total, 30_000);
  assert.throws(() => fromPprof(raw, { sampleType: 'alloc_space' }), /no sample type/);
});

test('negative (diff) pprof values are refused', () => {
  const st = new StringTable();
  const pp = new PprofProfile({
    sampleType: [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') })],
    sample: [new Sample({ locationId: [1], value: [-3] })],
    location: [new Location({ id: 1, line: [new Line({ functionId: 1 })] })],
    function: [new PprofFunction({ id: 1, name: st.dedup('f') })],
    stringTable: st,
  });
  assert.throws(() => fromPprof(pp.encode()), /negative/);
});

test('a 20,000-stack profile converts to pprof and back', () => {
  const p = syntheticProfile({ stacks: 20_000, depth: 60, period: 10_101_010 });
  const back = fromPprof(toPprof(p));
  assert.equal(back.stackCount, 20_000);
  assert.equal(back.total, p.total);
  assert.equal(back.nodeCount, p.nodeCount);
});

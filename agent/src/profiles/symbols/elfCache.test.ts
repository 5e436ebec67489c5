import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simplifyCppName, fileOffsetToVaddr } from './elfCache';
import { parseMaps, findMapping } from './procMaps';
import { parsePerfMap, lookupPerfMap } from './perfMap';
import { KernelSymbols } from './kallsyms';

test('C++ names lose return types and parameter lists, keep templates, namespaces and clones', () => {
  const cases: [string, string][] = [
    ['node::Start(int, char**)', 'node::Start'],
    [
      'heap::base::SlotCallbackResult v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>(v8::internal::FullHeapObjectSlot, v8::internal::HeapObject)',
      'v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>',
    ],
    [
      'v8::internal::(anonymous namespace)::Invoke(v8::internal::Isolate*, v8::internal::(anonymous namespace)::InvokeParams const&)',
      'v8::internal::(anonymous namespace)::Invoke',
    ],
    [
      'std::vector<int, std::allocator<int> >::operator[](unsigned long) const',
      'std::vector<int, std::allocator<int> >::operator[]',
    ],
    ['foo::operator()(int) [clone .isra.0]', 'foo::operator() [clone .isra.0]'],
    ['bool std::operator< <char>(std::string const&, std::string const&)', 'std::operator< <char>'],
    ['main', 'main'],
    ['Builtins_LoadIC', 'Builtins_LoadIC'],
  ];
  for (const [inp, out] of cases) assert.equal(simplifyCppName(inp), out, inp);
});

test('file offsets map to ELF virtual addresses through the PT_LOAD that holds them (PIE and non-PIE)', () => {
  const pie = [
    { vaddr: 0, offset: 0, filesz: 0x1000, memsz: 0x1000, executable: false },
    { vaddr: 0x1000, offset: 0x1000, filesz: 0x2000, memsz: 0x2000, executable: true },
  ];
  assert.equal(fileOffsetToVaddr(pie, 0x1169), 0x1169);
  const exec = [
    { vaddr: 0x400000, offset: 0, filesz: 0x76e5d8, memsz: 0x76e5d8, executable: false },
    { vaddr: 0xb72000, offset: 0x772000, filesz: 0x1a8bca0, memsz: 0x1a8bca0, executable: true },
  ];
  assert.equal(fileOffsetToVaddr(exec, 0x772000 + 0x10), 0xb72010);
  assert.equal(fileOffsetToVaddr(exec, 0x9999999), null);
});

test('maps, perf maps and kallsyms parse and look up', () => {
  const maps = parseMaps(
    '55d0c2a00000-55d0c2a28000 r--p 00000000 fe:01 1234 /usr/bin/bash\n' +
      '55d0c2a28000-55d0c2a50000 r-xp 00028000 fe:01 1234 /usr/bin/bash\n' +
      '7f0000000000-7f0000001000 rwxp 00000000 00:00 0 \n' +
      '7f0c4c000000-7f0c4c021000 r-xp 00001000 fe:01 1315 /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)\n'
  );
  assert.equal(maps.length, 4);
  assert.equal(findMapping(maps, 0x55d0c2a28010)?.offset, 0x28000);
  assert.equal(findMapping(maps, 0x7f0c4c000100)?.deleted, true);
  assert.equal(findMapping(maps, 0x1000), null);
  const pm = parsePerfMap(
    '7f0000000100 40 LazyCompile:~foo a.js:1\n7f0000000100 40 LazyCompile:*foo a.js:1\n7f0000000200 10 bar\n'
  );
  assert.equal(lookupPerfMap(pm, 0x7f0000000110), 'LazyCompile:*foo a.js:1', 'the entry written last wins');
  assert.equal(lookupPerfMap(pm, 0x7f0000000150), null);
  const ks = KernelSymbols.parse(
    'ffffffff81000000 T _stext\nffffffff81000100 t do_one\nffffffffc0001000 t mod_fn\t[loop]\n0000000000000000 A fixed_percpu_data\n'
  );
  assert.deepEqual(ks.lookup(0xffffffff81000110n), { name: 'do_one', module: null, offset: 0x10 });
  assert.equal(ks.frame(0xffffffffc0001004n).module, 'loop');
  assert.match(ks.frame(0xffff000000000001n).name, /^\[kernel\] 0x/);
});

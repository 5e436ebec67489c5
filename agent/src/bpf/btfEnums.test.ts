import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseBtfEnums, kernelEnumValue } from './btfEnums';

/** A minimal BTF blob: an int, a struct with one member, an anonymous enum, an enum64. */
function blob(): Buffer {
  const strs = ['', 'int', 's', 'm', 'A_ONE', 'A_NEG', 'BIG'];
  const strBuf = Buffer.from(strs.join('\0') + '\0');
  const off = (s: string) => strs.slice(0, strs.indexOf(s)).reduce((a, x) => a + x.length + 1, 0);
  const u32 = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    v.forEach((x, i) => b.writeUInt32LE(x >>> 0, i * 4));
    return b;
  };
  const info = (kind: number, vlen: number, kflag = 0) => ((kflag << 31) | (kind << 24) | vlen) >>> 0;
  const types = Buffer.concat([
    u32(off('int'), info(1, 0), 4),
    u32(32), // INT + its 4-byte encoding
    u32(off('s'), info(4, 1), 4),
    u32(off('m'), 1, 0), // STRUCT with one member
    u32(0, info(6, 2, 1), 4),
    u32(off('A_ONE'), 1),
    u32(off('A_NEG'), 0xffffffff), // signed anonymous ENUM
    u32(0, info(19, 1), 8),
    u32(off('BIG'), 0x00000002, 0x00000001), // ENUM64: lo, hi
  ]);
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(types.length, 12);
  hdr.writeUInt32LE(types.length, 16);
  hdr.writeUInt32LE(strBuf.length, 20);
  return Buffer.concat([hdr, types, strBuf]);
}

test('enumerators of named and anonymous enums, signed and 64-bit', () => {
  const m = parseBtfEnums(blob());
  assert.deepEqual(
    [...m],
    [
      ['A_ONE', 1n],
      ['A_NEG', -1n],
      ['BIG', (1n << 32n) | 2n],
    ]
  );
  assert.deepEqual([...parseBtfEnums(blob(), new Set(['BIG']))], [['BIG', (1n << 32n) | 2n]]);
  assert.throws(() => parseBtfEnums(Buffer.alloc(24)), /not little-endian BTF/);
});

test(
  'the running kernel: QUEUE_FLAG_STATS is found when the kernel has BTF',
  { skip: !fs.existsSync('/sys/kernel/btf/vmlinux') && 'no kernel BTF' },
  () => {
    const v = kernelEnumValue('QUEUE_FLAG_STATS');
    assert.ok(v !== null && v >= 0n && v < 64n, String(v));
    assert.equal(kernelEnumValue('NO_SUCH_ENUMERATOR_HERE'), null);
  }
);

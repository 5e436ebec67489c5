// Values of enumerators in the kernel's BTF (/sys/kernel/btf/vmlinux), for the constants CO-RE cannot
// relocate: enumerators of anonymous enums (e.g. QUEUE_FLAG_STATS), which bpf_core_enum_value() cannot
// name. A small reader of the BTF type section: header, then one record per type whose size depends on
// its kind (include/uapi/linux/btf.h).
import fs from 'node:fs';

const BTF_MAGIC = 0xeb9f;
const KIND = {
  INT: 1,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  DECL_TAG: 17,
  ENUM64: 19,
} as const;

/** Every enumerator name → value (the first definition wins; kernel enumerator names are unique). */
export function parseBtfEnums(buf: Buffer, wanted?: ReadonlySet<string>): Map<string, bigint> {
  if (buf.length < 24 || buf.readUInt16LE(0) !== BTF_MAGIC) throw new Error('not little-endian BTF');
  const hdrLen = buf.readUInt32LE(4);
  const typeOff = hdrLen + buf.readUInt32LE(8);
  const typeLen = buf.readUInt32LE(12);
  const strOff = hdrLen + buf.readUInt32LE(16);
  const str = (off: number): string => {
    const start = strOff + off;
    const end = buf.indexOf(0, start);
    return buf.toString('latin1', start, end < 0 ? buf.length : end);
  };
  const out = new Map<string, bigint>();
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p + 12 <= end) {
    const info = buf.readUInt32LE(p + 4);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const signed = info >>> 31 === 1;
    p += 12;
    switch (kind) {
      case KIND.INT:
      case KIND.VAR:
      case KIND.DECL_TAG:
        p += 4;
        break;
      case KIND.ARRAY:
        p += 12;
        break;
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.DATASEC:
        p += 12 * vlen;
        break;
      case KIND.FUNC_PROTO:
        p += 8 * vlen;
        break;
      case KIND.ENUM:
        for (let i = 0; i < vlen; i++, p += 8) {
          const name = str(buf.readUInt32LE(p));
          if ((wanted && !wanted.has(name)) || out.has(name)) continue;
          out.set(name, signed ? BigInt(buf.readInt32LE(p + 4)) : BigInt(buf.readUInt32LE(p + 4)));
        }
        break;
      case KIND.ENUM64:
        for (let i = 0; i < vlen; i++, p += 12) {
          const name = str(buf.readUInt32LE(p));
          if ((wanted && !wanted.has(name)) || out.has(name)) continue;
          const v = (BigInt(buf.readUInt32LE(p + 8)) << 32n) | BigInt(buf.readUInt32LE(p + 4));
          out.set(name, signed ? BigInt.asIntN(64, v) : v);
        }
        break;
      default:
        break; // PTR, FWD, TYPEDEF, modifiers, FUNC, FLOAT, TYPE_TAG: no trailing data
    }
  }
  return out;
}

const cache = new Map<string, bigint | null>();

/** The value of one enumerator of the running kernel, or null when BTF or the name is missing. */
export function kernelEnumValue(name: string, file = '/sys/kernel/btf/vmlinux'): bigint | null {
  const key = `${file}\0${name}`;
  if (!cache.has(key)) {
    let v: bigint | null = null;
    try {
      v = parseBtfEnums(fs.readFileSync(file), new Set([name])).get(name) ?? null;
    } catch {
      v = null;
    }
    cache.set(key, v);
  }
  return cache.get(key) ?? null;
}

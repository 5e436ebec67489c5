// pprof (gzipped profile.proto) through pprof-format.
//
// Encoding: one Sample per distinct stack (locations leaf first, as pprof wants), one Location and one
// Function per distinct frame (ids = position + 1), one Mapping per distinct (kind, module):
//   user     → filename = module ('' when unknown), has_functions = true
//   unknown  → filename = module, has_functions = false (the frame's text, e.g. "[unknown] libfoo.so+0x12",
//              is still kept as the function name)
//   kernel   → filename "[kernel]", or "[kernel] <module>" for a kernel-module frame
//   jit      → "[jit]" / "[jit] <module>";   process → "[process]";   meta → "[meta]"
// Sample types by unit: samples → samples/count, plus cpu/nanoseconds (= count × period) when a period
// is known (period_type cpu/nanoseconds); nanoseconds → time/nanoseconds; bytes → space/bytes;
// count → events/count. pprof values are int64: non-integer values are rounded.
//
// Decoding accepts any pprof (gzipped or not): by default the first sample type is read (or the one
// named in `sampleType`); inlined lines of one location become separate frames; a location without lines
// becomes an "[unknown] <mapping>+0x<offset>" frame; mapping names "[kernel…]" (perf's
// "[kernel.kallsyms]" too) mark kernel frames; a mapping with has_functions = false, or a function
// name starting with "[unknown]", marks unknown frames. Sample labels are ignored.
import { gunzipSync, gzipSync } from 'node:zlib';
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
import { Profile, type Frame, type FrameKind, type ProfileUnit } from './model';

export interface PprofEncodeOptions {
  /** Override the sample type name (default by unit, see above). */
  sampleTypeName?: string;
  /** Free-form comments stored in the profile. */
  comments?: string[];
}

export interface PprofDecodeOptions {
  /** Sample type to read, by type name (e.g. "cpu") or index. Default: index 0. */
  sampleType?: string | number;
}

type Numeric = number | bigint;

const TWO_63 = 2n ** 63n;
const TWO_64 = 2n ** 64n;
function num(v: Numeric): number {
  if (typeof v === 'number') return v;
  return Number(v >= TWO_63 ? v - TWO_64 : v);
}

const BRACKET_KINDS: readonly FrameKind[] = ['kernel', 'jit', 'process', 'meta'];

function mappingName(kind: FrameKind, module: string | undefined): string {
  if (kind === 'user' || kind === 'unknown') return module ?? '';
  return module === undefined ? `[${kind}]` : `[${kind}] ${module}`;
}

function parseMappingName(filename: string, hasFunctions: boolean): { kind: FrameKind; module?: string } {
  for (const k of BRACKET_KINDS) {
    const tag = `[${k}]`;
    if (filename === tag) return { kind: k };
    if (filename.startsWith(tag + ' ')) return { kind: k, module: filename.slice(tag.length + 1) };
  }
  if (filename.startsWith('[kernel')) return { kind: 'kernel' }; // [kernel.kallsyms] and friends
  const kind: FrameKind = hasFunctions ? 'user' : 'unknown';
  return filename === '' ? { kind } : { kind, module: filename };
}

function defaultTypeName(unit: ProfileUnit): string {
  switch (unit) {
    case 'samples':
      return 'samples';
    case 'nanoseconds':
      return 'time';
    case 'bytes':
      return 'space';
    case 'count':
      return 'events';
  }
}

function unitName(unit: ProfileUnit): string {
  return unit === 'samples' ? 'count' : unit;
}

/** Build the (ungzipped) pprof-format Profile object. */
export function toPprofProfile(profile: Profile, opts: PprofEncodeOptions = {}): PprofProfile {
  const st = new StringTable();
  const typeName = opts.sampleTypeName ?? defaultTypeName(profile.unit);
  const sampleType = [new ValueType({ type: st.dedup(typeName), unit: st.dedup(unitName(profile.unit)) })];
  const period = profile.period;
  const withCpu = profile.unit === 'samples' && period !== undefined && period > 0;
  let periodType: ValueType | undefined;
  if (withCpu) {
    periodType = new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') });
    sampleType.push(periodType);
  } else if (period !== undefined && period > 0) {
    periodType = sampleType[0];
  }

  const mappings: Mapping[] = [];
  const mappingIds = new Map<string, number>();
  const locations: Location[] = [];
  const functions: PprofFunction[] = [];
  const locOf = new Int32Array(profile.frameCount); // frame id → location id (0 = not yet)
  const locationFor = (frameId: number): number => {
    const have = locOf[frameId]!;
    if (have !== 0) return have;
    const f: Frame = profile.frame(frameId);
    const mname = mappingName(f.kind, f.module);
    const mkey = `${f.kind === 'unknown' ? 'u' : 'f'}\0${mname}`;
    let mid = mappingIds.get(mkey);
    if (mid === undefined) {
      mid = mappings.length + 1;
      mappingIds.set(mkey, mid);
      mappings.push(new Mapping({ id: mid, filename: st.dedup(mname), hasFunctions: f.kind !== 'unknown' }));
    }
    const id = locations.length + 1;
    const nameIdx = st.dedup(f.name);
    functions.push(new PprofFunction({ id, name: nameIdx, systemName: nameIdx }));
    locations.push(new Location({ id, mappingId: mid, line: [new Line({ functionId: id })] }));
    locOf[frameId] = id;
    return id;
  };

  const samples: Sample[] = [];
  profile.forEachStack((ids, value) => {
    const locationId: number[] = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) locationId[ids.length - 1 - i] = locationFor(ids[i]!);
    const v = Math.round(value);
    samples.push(new Sample({ locationId, value: withCpu ? [v, Math.round(value * period!)] : [v] }));
  });

  const comment = (opts.comments ?? []).map((c) => st.dedup(c));
  return new PprofProfile({
    sampleType,
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: st,
    timeNanos: profile.startTime !== undefined ? BigInt(Math.round(profile.startTime)) * 1_000_000n : 0,
    durationNanos: profile.durationMs !== undefined ? Math.round(profile.durationMs * 1e6) : 0,
    ...(periodType !== undefined ? { periodType, period: Math.round(period!) } : {}),
    comment,
    defaultSampleType: sampleType[0]!.type,
  });
}

/** Gzipped pprof protobuf. */
export function toPprof(profile: Profile, opts: PprofEncodeOptions = {}): Buffer {
  return gzipSync(toPprofProfile(profile, opts).encode());
}

function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

const TIME_SCALE: Record<string, number> = { nanoseconds: 1, microseconds: 1e3, milliseconds: 1e6, seconds: 1e9 };

/** Decode a pprof profile (gzipped or raw protobuf) into a Profile. */
export function fromPprof(data: Uint8Array, opts: PprofDecodeOptions = {}): Profile {
  const raw = isGzip(data) ? gunzipSync(data) : data;
  const pp = PprofProfile.decode(raw);
  const strings = pp.stringTable.strings;
  const str = (i: Numeric): string => strings[num(i)] ?? '';
  if (pp.sampleType.length === 0) throw new Error('pprof: no sample types');

  let index = 0;
  if (typeof opts.sampleType === 'number') index = opts.sampleType;
  else if (typeof opts.sampleType === 'string') index = pp.sampleType.findIndex((t) => str(t.type) === opts.sampleType);
  const st = pp.sampleType[index];
  if (st === undefined) throw new Error(`pprof: no sample type ${String(opts.sampleType)}`);
  const typeName = str(st.type);
  const unitStr = str(st.unit);
  let unit: ProfileUnit = 'count';
  let scale = 1;
  if (unitStr in TIME_SCALE) {
    unit = 'nanoseconds';
    scale = TIME_SCALE[unitStr]!;
  } else if (unitStr === 'bytes') unit = 'bytes';
  else if (unitStr === 'count' && typeName === 'samples') unit = 'samples';

  const profile = new Profile({ unit });
  const period = num(pp.period);
  if (period > 0) {
    const pUnit = pp.periodType !== undefined ? str(pp.periodType.unit) : '';
    profile.period = pUnit in TIME_SCALE ? period * TIME_SCALE[pUnit]! : period;
  }
  const timeNanos = num(pp.timeNanos);
  if (timeNanos > 0) profile.startTime = Math.floor(timeNanos / 1e6);
  const durationNanos = num(pp.durationNanos);
  if (durationNanos > 0) profile.durationMs = durationNanos / 1e6;

  const functions = new Map<number, PprofFunction>();
  for (const f of pp.function) functions.set(num(f.id), f);
  const mappings = new Map<number, Mapping>();
  for (const m of pp.mapping) mappings.set(num(m.id), m);
  const locations = new Map<number, Location>();
  for (const l of pp.location) locations.set(num(l.id), l);

  const locFrames = new Map<number, number[]>(); // location id → interned frame ids, root → leaf
  const framesOf = (locId: number): number[] => {
    let ids = locFrames.get(locId);
    if (ids !== undefined) return ids;
    const loc = locations.get(locId);
    if (loc === undefined) throw new Error(`pprof: sample refers to missing location ${locId}`);
    const mapping = mappings.get(num(loc.mappingId));
    const mname = mapping !== undefined ? str(mapping.filename) : '';
    const { kind: mkind, module } = parseMappingName(mname, mapping === undefined || mapping.hasFunctions);
    ids = [];
    if (loc.line.length === 0) {
      const addr = num(loc.address);
      const off = mapping !== undefined ? addr - num(mapping.memoryStart) + num(mapping.fileOffset) : addr;
      const where = mname !== '' ? `${mname}+0x${off.toString(16)}` : `0x${addr.toString(16)}`;
      const frame: Frame =
        module !== undefined
          ? { name: `[unknown] ${where}`, kind: 'unknown', module }
          : { name: `[unknown] ${where}`, kind: 'unknown' };
      ids.push(profile.internFrame(frame));
    } else {
      // line[0] is the innermost (inlined) function; the last line is its caller.
      for (let i = loc.line.length - 1; i >= 0; i--) {
        const fn = functions.get(num(loc.line[i]!.functionId));
        const name = fn !== undefined ? str(fn.name) || str(fn.systemName) : '';
        const kind: FrameKind = mkind === 'user' && name.startsWith('[unknown]') ? 'unknown' : mkind;
        const frame: Frame = module !== undefined ? { name, kind, module } : { name, kind };
        ids.push(profile.internFrame(frame));
      }
    }
    locFrames.set(locId, ids);
    return ids;
  };

  const path: number[] = [];
  for (const s of pp.sample) {
    const v = num(s.value[index] ?? 0) * scale;
    if (v < 0) throw new Error('pprof: negative sample values (a diff profile?) are not supported');
    if (v === 0) continue;
    path.length = 0;
    for (let i = s.locationId.length - 1; i >= 0; i--) {
      for (const id of framesOf(num(s.locationId[i]!))) path.push(id);
    }
    profile.addIds(path, v);
  }
  return profile;
}

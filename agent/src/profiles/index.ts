// The profile model and its converters; see model.ts for the invariants.
export * from './model';
export {
  toFolded,
  fromFolded,
  escapeFoldedName,
  unescapeFoldedName,
  type FoldedReadOptions,
  type FoldedWriteOptions,
} from './folded';
export * from './nested';
export { toPprof, toPprofProfile, fromPprof, type PprofEncodeOptions, type PprofDecodeOptions } from './pprof';
export { toSvg, frameColor, formatValue, type SvgOptions } from './svg';
export { encode as encodeProfile, decode as decodeProfile, CODEC_VERSION } from './codec';

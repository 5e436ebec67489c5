// The frame shape symbolization produces; structurally the same as Frame in ../model.
export type FrameKind = 'kernel' | 'user' | 'jit' | 'unknown';

export interface SymbolFrame {
  name: string;
  kind: FrameKind;
  /** binary or kernel module the frame came from ("kernel" for the core kernel) */
  module?: string;
}

// Executable entry: esbuild bundles from here into the single executable; `node --import tsx
// src/backend/bin.ts` runs the same thing from source.
import { main } from './main';

main().catch((e: unknown) => {
  process.stderr.write(`fatal: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

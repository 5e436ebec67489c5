// Builds the datasource backend into one executable, dist/datasource/gpx_autotracing_linux_amd64:
//   1. esbuild bundles src/backend/bin.ts and every dependency into one CommonJS file (the .proto
//      definitions are strings inside it);
//   2. Node's single-executable-application support turns it into a preparation blob
//      (`node --experimental-sea-config`, with V8 code cache for a faster start);
//   3. a copy of the Node binary running this script (this machine's /usr/bin/node, an official
//      Node 20 build: only glibc and libstdc++ are linked dynamically), stripped of its symbol table,
//      gets the blob injected with postject.
// The result runs with an empty environment from any directory; it needs glibc (Grafana's -ubuntu
// images, not the Alpine ones).
//
// Usage: node --import tsx scripts/build-backend.ts [--if-stale]
//   --if-stale   do nothing when the executable is newer than every input (used by the tests)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';

// the repository root, whether this runs from scripts/ (tsx) or build/scripts/ (compiled)
export const ROOT = path.resolve(__dirname, '..').replace(/\/build$/, '');
export const EXECUTABLE = path.join(ROOT, 'dist', 'datasource', 'gpx_autotracing_linux_amd64');
// per-process work folder, so two builds started at once (parallel test files) cannot mix their files
const WORK = path.join(ROOT, 'build', 'backend-sea', String(process.pid));
const BUNDLE = path.join(WORK, 'gpx_autotracing.cjs');
const BLOB = path.join(WORK, 'sea-prep.blob');
const SEA_CONFIG = path.join(WORK, 'sea-config.json');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const INPUTS = ['src/backend', 'agent/src/api', 'agent/src/events', 'scripts/build-backend.ts', 'package-lock.json'];

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of fs.readdirSync(p)) {
    if (e.endsWith('.test.ts')) continue;
    newest = Math.max(newest, newestMtime(path.join(p, e)));
  }
  return newest;
}

/** True when the executable exists and is newer than every source it is built from. */
export function isBackendBuildFresh(): boolean {
  if (!fs.existsSync(EXECUTABLE)) return false;
  const exe = fs.statSync(EXECUTABLE).mtimeMs;
  return INPUTS.every((p) => !fs.existsSync(path.join(ROOT, p)) || newestMtime(path.join(ROOT, p)) <= exe);
}

export async function buildBackend(log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<string> {
  const t0 = Date.now();
  fs.mkdirSync(WORK, { recursive: true });
  fs.mkdirSync(path.dirname(EXECUTABLE), { recursive: true });

  const result = await build({
    entryPoints: [path.join(ROOT, 'src/backend/bin.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  const bundleBytes = fs.statSync(BUNDLE).size;
  log(
    `bundle ${path.relative(ROOT, BUNDLE)}: ${(bundleBytes / 1024).toFixed(0)} KiB from ${Object.keys(result.metafile.inputs).length} modules`
  );

  fs.writeFileSync(
    SEA_CONFIG,
    JSON.stringify(
      { main: BUNDLE, output: BLOB, disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false },
      null,
      2
    )
  );
  // the blob must be made by the same Node binary it is injected into
  execFileSync(process.execPath, ['--experimental-sea-config', SEA_CONFIG], { stdio: ['ignore', 'pipe', 'pipe'] });

  const tmp = `${EXECUTABLE}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.copyFileSync(process.execPath, tmp);
  fs.chmodSync(tmp, 0o755);
  try {
    execFileSync('strip', ['--strip-all', tmp], { stdio: 'ignore' });
  } catch {
    log('strip not available: the executable keeps its debug symbols (larger, works the same)');
  }
  const postject = path.join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  // (postject's ELF library warns "Can't find string offset for section name '.note…'" on Node's
  // binaries; harmless, so its output is shown only when it fails)
  try {
    execFileSync(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', BLOB, '--sentinel-fuse', FUSE], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`postject failed: ${String(err.stdout)}${String(err.stderr)}`);
  }
  fs.renameSync(tmp, EXECUTABLE); // atomic: a concurrent reader sees the old or the new file, never half
  fs.rmSync(WORK, { recursive: true, force: true });

  // smoke test: with no environment at all it must refuse politely (exit 1, message on stderr)
  try {
    execFileSync(EXECUTABLE, [], { env: {}, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    throw new Error('the executable started without the plugin environment');
  } catch (e) {
    const err = e as { status?: number; stderr?: Buffer };
    if (err.status !== 1 || !String(err.stderr).includes('not meant to be executed directly')) {
      throw new Error(`smoke test failed: exit ${err.status}, stderr ${String(err.stderr).slice(0, 500)}`);
    }
  }
  const size = fs.statSync(EXECUTABLE).size;
  log(
    `built ${path.relative(ROOT, EXECUTABLE)}: ${(size / 1024 / 1024).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s`
  );
  return EXECUTABLE;
}

if (require.main === module) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && isBackendBuildFresh()) {
    process.stderr.write(`${path.relative(ROOT, EXECUTABLE)} is up to date\n`);
  } else {
    buildBackend().catch((e: unknown) => {
      process.stderr.write(`build-backend failed: ${(e as Error).message}\n`);
      process.exit(1);
    });
  }
}

